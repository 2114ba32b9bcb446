import Foundation
import Testing

/// `--pace` on the command line: the live sampler's alone, checked before anything is loaded.
@Suite("The live sampler's --pace on the command line")
struct PaceCommandLineTests {
    let tiny = fixtures.appendingPathComponent("pipeline/tiny").path

    @Test("a pace outside 0…10000 ms, or one with --measure-ui, is an error line naming --pace, exit 64", arguments: [
        (["--pace", "10001"], "--pace 10001: give 0…10000 milliseconds a step"),
        (["--pace=-1"], "--pace -1: give 0…10000"),
        (["--pace", "nan"], "--pace nan: give 0…10000"),
        (["--pace", "20", "--measure-ui", "5"], "--pace 20 with --measure-ui"),
    ])
    func badPace(extra: [String], message: String) throws {
        let r = try Run(["--model", tiny] + extra)
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.errorLine.contains(message), "\(r.stderr)")
    }

    @Test("a good pace gets as far as the terminal; --pace 0 with --measure-ui too; headless commands have no --pace")
    func goodPace() throws {
        for extra in [["--pace", "0"], ["--pace", "62.5"], ["--pace", "10000"], ["--pace", "0", "--measure-ui", "5"]] {
            let r = try Run(["--model", tiny] + extra)
            #expect(r.status != 0 && r.errorLine.contains("needs a terminal"), "\(extra): \(r.stderr)")
        }
        let headless = try Run(["sample", "--model", tiny, "--pace", "10", "--out", "/dev/null"])
        #expect(headless.status == 64 && headless.errorLine.contains("--pace"), "\(headless.stderr)")
        let help = try Run(["live", "--help"])
        let words = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("--pace <ms> Milliseconds a step at least") && words.contains("70 by default"), "\(help.stdout)")
    }
}
