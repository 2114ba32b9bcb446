import Foundation
import FuzzTargets

// Built two ways:
// - `make fuzz` builds with `--sanitize fuzzer` and `-D DDIM_FUZZ`: libFuzzer supplies main and
//   calls LLVMFuzzerTestOneInput; DDIM_FUZZ_TARGET picks the parser.
// - a plain build gets a main that replays files: `ddim-fuzz TARGET FILE…` (exit 0 when none crash).

/// The parser under test, from DDIM_FUZZ_TARGET.
let selected: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["DDIM_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("set DDIM_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
        exit(2)
    }
    return target
}()

#if DDIM_FUZZ
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
        selected.run(Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    }
#else
    @main
    struct Replay {
        static func main() {
            let args = CommandLine.arguments.dropFirst()
            guard let name = args.first, let target = FuzzTarget(rawValue: name) else {
                print("usage: ddim-fuzz \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE…")
                exit(2)
            }
            var accepted = 0
            for path in args.dropFirst() {
                guard let data = FileManager.default.contents(atPath: path) else { continue }
                if target.run([UInt8](data)) { accepted += 1 }
            }
            print("\(target.rawValue): \(args.count - 1) inputs, \(accepted) accepted, no crash")
        }
    }
#endif
