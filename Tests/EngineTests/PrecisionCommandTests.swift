import Foundation
import Imaging
import Testing
import Tensors

/// `--precision`: bf16 Winograd products on the command line — what a sample records, that its
/// Command draws the same picture again, that bf16 changes the picture (it ran) and fp32 is the
/// default; a bad value, and bf16 on a CPU without AVX-512 BF16, refused in one line.
@Suite("--precision on the command line")
struct PrecisionCommandTests {
    /// Runs `body` with a new folder, removed afterwards.
    func inFolder(_ body: (URL) throws -> Void) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-precision-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try body(folder)
    }

    @Test("bf16: recorded in the PNG and its Command, which draws the same bytes again; the picture differs from fp32's",
          .enabled(if: ConvPolicy.Precision.bf16.supported, "skipped: this CPU (or its OS) lacks AVX-512 BF16"))
    func bf16Sample() throws {
        try inFolder { folder in
            let (half, full, again) = (folder.appendingPathComponent("bf16.png").path, folder.appendingPathComponent("fp32.png").path,
                                       folder.appendingPathComponent("again.png").path)
            let base = ["sample", "--steps", "4", "--batch", "2", "--seed", "3", "-q"]
            let r = try Run(base + ["--precision", "bf16", "--out", half])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(try Run(base + ["--out", full]).status == 0)
            let text = try PNGReader().readText(half)
            #expect(text.contains(PNGText("Precision", "bf16")))
            #expect(!(try PNGReader().readText(full)).contains { $0.key == "Precision" })
            let command = try #require(text.first { $0.key == "Command" }?.value)
            #expect(command.contains("--precision bf16"), "\(command)")
            // the recorded command, run again, into another file
            let words = command.replacingOccurrences(of: "--out sample.png", with: "--out \(again)").split(separator: " ").map(String.init)
            #expect(words.first == "ddim")
            #expect(try Run(Array(words.dropFirst()) + ["-q"]).status == 0)
            let (one, two, other) = (try Data(contentsOf: URL(fileURLWithPath: half)), try Data(contentsOf: URL(fileURLWithPath: again)),
                                     try Data(contentsOf: URL(fileURLWithPath: full)))
            #expect(one == two)
            #expect(one != other, "bf16 drew fp32's picture: the bf16 products did not run")
            // bench says which precision ran
            let bench = try Run(["bench", "--precision", "bf16", "--runs", "1", "--json"])
            let object = try JSONSerialization.jsonObject(with: Data(bench.stdout.utf8)) as? [String: Any]
            #expect(object?["precision"] as? String == "bf16", "\(bench.stdout)")
            // the embedded model's ε against the float im2col forward: 0.011 with the first and
            // last convolutions in float, 0.032 with them in bf16 too (outputs up to ~4)
            let difference = object?["conv_max_abs_difference"] as? Double ?? .nan
            #expect(difference > 1e-4 && difference < 0.02, "\(difference)")
        }
    }

    @Test("bf16 without AVX-512 BF16 (or with the AVX2 kernels asked for): one line naming --precision and what is missing, exit 64")
    func bf16Refused() throws {
        // DDIM_KERNELS=avx2 stands for a CPU without it, on any machine
        let r = try Run(["sample", "--precision", "bf16", "--steps", "2", "--out", "/dev/null"], environment: ["DDIM_KERNELS": "avx2"])
        #expect(r.status == 64 && r.errorLine.contains("--precision bf16") && r.errorLine.contains("AVX-512 BF16"), "\(r.stderr)")
        let env = try Run(["sample", "--steps", "2", "--out", "/dev/null"], environment: ["DDIM_KERNELS": "avx2", "DDIM_PRECISION": "bf16"])
        #expect(env.status != 0 && env.stderr.contains("DDIM_PRECISION=bf16"), "\(env.stderr)")
    }

    @Test("a precision that is not fp32 or bf16 is refused in one line naming --precision")
    func badValue() throws {
        let r = try Run(["sample", "--precision", "fp16", "--steps", "2", "--out", "/dev/null"])
        #expect(r.status == 64 && r.errorLine.contains("--precision"), "\(r.stderr)")
    }
}
