import Foundation
import Imaging
import Engine
import Sampling
import Testing
import Output

/// Output paths as a hostile user gives them (issue #16): odd names, links, devices, FIFOs,
/// standard output, full disks, file-size limits, two outputs on one file. Every case is a file
/// written whole or one line naming the flag and path, with no temporary file left and no trap.
@Suite("Output paths")
final class OutputPathTests {
    let tiny = fixtures.appendingPathComponent("pipeline/tiny").path
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-out-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: tmp) }

    func path(_ name: String) -> String { OutputPath.join(tmp.path, name) }

    /// `ddim sample` on the tiny model, 3 steps, in the test's folder.
    func sample(_ extra: [String]) throws -> Run {
        try Run(["sample", "--model", tiny, "--steps", "3", "-q"] + extra, directory: tmp.path)
    }

    /// Whether the folder holds a temporary file of an atomic write.
    func leftovers(_ folder: String? = nil) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder ?? tmp.path).filter { $0.contains(".tmp-") }
    }

    /// Runs `script` with /bin/sh in the test's folder, `$0` the built ddim and `$1` the tiny
    /// model: for raw bytes in arguments and for limits set with `ulimit`. The exit status (128 + n
    /// for a signal, as a shell reports it) and standard error.
    func shell(_ script: String) throws -> (status: Int32, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", script, ddimBinary.path, tiny]
        p.currentDirectoryURL = tmp
        let err = Pipe()
        p.standardError = err
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationReason == .exit ? p.terminationStatus : 128 + p.terminationStatus, text)
    }

    func isPNG(_ path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path) else { return false }
        return data.starts(with: [0x89, 0x50, 0x4E, 0x47])
    }

    @Test("odd names are written: 1 character, non-ASCII, leading dot or space, 255 bytes", arguments: [
        "a", "é", ".hidden", " lead", "trail ", "-dash.png", String(repeating: "n", count: 255),
        String(repeating: "é", count: 127) + "x",  // 255 bytes of UTF-8
    ])
    func oddNames(_ name: String) throws {
        let r = try sample(["--out=\(name)"])  // the = form takes "-dash.png" as a value
        #expect(r.status == 0 && r.reason == .exit, "\(r.stderr)")
        #expect(isPNG(path(name)))
        #expect(try leftovers() == [])
    }

    @Test("names that are not files are one line naming the flag, exit 1, nothing written", arguments: [
        (".", "the path names a folder"), ("..", "the path names a folder"), ("sub/", "the path names a folder"),
        ("missing/x.png", "the folder missing does not exist"),
        (String(repeating: "n", count: 256), "over the 255-byte limit"),
        ("", "the path is empty"),
    ])
    func refusedNames(_ name: String, _ message: String) throws {
        let r = try sample(["--out", name])
        #expect(r.status == 1 && r.reason == .exit, "\(r.stderr)")
        #expect(r.errorLine.contains("--out") && r.errorLine.contains(message), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path) == [])
    }

    @Test("every output flag takes odd names", arguments: ["a", "é", "."])
    func everyFlag(_ name: String) throws {
        let grid = try sample(["--out", "grid.png"])
        #expect(grid.status == 0)
        let runs: [[String]] = [
            ["sample", "--model", tiny, "--steps", "2", "-q", "--out", "x.png", "--trajectory", name],
            ["compare", "--model", tiny, "--steps", "2,3", "--out", name],
            ["interpolate", "--model", tiny, "--seeds", "1,2", "--frames", "2", "--steps", "2", "--out", name, "-q"],
            ["invert", "--model", tiny, "--image", "grid.png", "--steps", "2", "--save-latent", name, "-q"],
        ]
        for args in runs {
            let r = try Run(args, directory: tmp.path)
            if name == "." {
                #expect(r.status == 1 && r.errorLine.contains("names a folder"), "\(args): \(r.stderr)")
            } else {
                #expect(r.status == 0, "\(args): \(r.stderr)")
            }
            #expect(r.reason == .exit)
        }
        #expect(try leftovers() == [])
    }

    @Test("a name that is not UTF-8 is refused with one line, not written under another name")
    func notUTF8() throws {
        // the shell passes the raw byte 0xFF, which Swift's String cannot hold
        let (status, text) = try shell("exec \"$0\" sample --model \"$1\" --steps 2 -q --out \"$(printf 'x\\377.png')\"")
        #expect(status == 64 && text.contains("x\\xFF.png") && text.contains("not valid UTF-8"), "\(text)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path) == [])
    }

    @Test("invert --images: a picture whose name is not UTF-8 is refused by name; other odd files are left alone")
    func notUTF8InFolder() throws {
        try FileManager.default.createDirectory(atPath: path("imgs"), withIntermediateDirectories: true)
        #expect(try sample(["--out", "imgs/a.png"]).status == 0)
        _ = try shell("cp imgs/a.png \"imgs/$(printf 'b\\377.png')\" && touch \"imgs/$(printf 'notes\\377.txt')\"")
        let r = try Run(["invert", "--model", tiny, "--images", "imgs", "--steps", "2", "-q"], directory: tmp.path)
        #expect(r.status == 1 && r.errorLine.contains("the name b\\xFF.png is not valid UTF-8"), "\(r.stderr)")
        // without the picture, the folder's other odd name is no concern
        _ = try shell("rm \"imgs/$(printf 'b\\377.png')\"")
        let again = try Run(["invert", "--model", tiny, "--images", "imgs", "--steps", "2", "-q"], directory: tmp.path)
        #expect(again.status == 0, "\(again.stderr)")
    }

    @Test("a symbolic link is followed: the link stays, its target is replaced; a dangling one creates its target")
    func links() throws {
        try Data("old".utf8).write(to: URL(fileURLWithPath: path("target.png")))
        try FileManager.default.createSymbolicLink(atPath: path("link.png"), withDestinationPath: "target.png")
        #expect(try sample(["--out", "link.png"]).status == 0)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: path("link.png")) == "target.png")
        #expect(isPNG(path("target.png")))
        try FileManager.default.createSymbolicLink(atPath: path("dangling.png"), withDestinationPath: "new.png")
        #expect(try sample(["--out", "dangling.png"]).status == 0)
        #expect(isPNG(path("new.png")))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: path("dangling.png")) == "new.png")
        #expect(try leftovers() == [])
    }

    @Test("devices and FIFOs are written through, never replaced; a FIFO nobody reads is refused")
    func specialFiles() throws {
        // /dev/null stays the device (as root, a replaced /dev/null would break the system)
        let null = try sample(["--out", "/dev/null"])
        #expect(null.status == 0, "\(null.stderr)")
        var info = stat()
        #expect(stat("/dev/null", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)
        // a full disk is one line
        let full = try sample(["--out", "/dev/full"])
        #expect(full.status == 1 && full.errorLine.contains("/dev/full") && full.errorLine.contains("No space left"), "\(full.stderr)")

        let fifo = path("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let none = try sample(["--out", "fifo"])
        #expect(none.status == 1 && none.errorLine.contains("no process has the FIFO open for reading"), "\(none.stderr)")
        #expect(stat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        // with a reader, the PNG goes through the FIFO
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/bin/cat")
        reader.arguments = [fifo]
        let pipe = Pipe()
        reader.standardOutput = pipe
        try reader.run()
        var written: Run?
        for _ in 0..<50 {  // until cat has opened its end
            let r = try sample(["--out", "fifo"])
            if r.status == 0 { written = r; break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let bytes = pipe.fileHandleForReading.readDataToEndOfFile()
        reader.waitUntilExit()
        #expect(written != nil)
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(stat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        #expect(try leftovers() == [])
    }

    @Test("--out - streams the PNG to standard output; the report lines go to standard error")
    func standardOutput() throws {
        let r = try Run(["sample", "--model", tiny, "--steps", "3", "--out", "-", "--trajectory", "t.png"], directory: tmp.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdoutData.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(r.stderr.contains("trajectory: t.png"))
        let bad = try Run(["sample", "--model", tiny, "--steps", "3", "--out", "x.png", "--trajectory", "-"], directory: tmp.path)
        #expect(bad.status == 1 && bad.errorLine.contains("--trajectory writes two files"), "\(bad.stderr)")
    }

    @Test("a folder, or two outputs on one file, or an output on an input: refused before any sampling", arguments: [
        (["--out", "folder"], "--out folder: it is a folder"),
        (["--out", "x.png", "--trajectory", "x.png"], "--out x.png and --trajectory x.png name the same file"),
        (["--out", "x.apng", "--trajectory", "x.png"], "name the same file"),
        (["--out", "./x.png", "--trajectory", "folder/../x.png"], "name the same file"),
        (["--out-dir", "folder", "--trajectory", "folder/00000.png"], "name the same file"),
        (["--out-dir", "file.txt"], "--out-dir file.txt: it is a file, not a folder"),
    ])
    func clashes(_ extra: [String], _ message: String) throws {
        try FileManager.default.createDirectory(atPath: path("folder"), withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: path("file.txt")))
        let r = try sample(extra)
        #expect(r.status == 1 && r.errorLine.contains(message), "\(r.stderr)")
        // refused before sampling: no step was run, nothing written
        #expect(try FileManager.default.contentsOfDirectory(atPath: path("folder")) == [])
        #expect(!FileManager.default.fileExists(atPath: path("x.png")))
        #expect(FileManager.default.contents(atPath: path("file.txt")) == Data("keep".utf8))
    }

    @Test("invert --out onto its own --image is refused: the picture is kept")
    func outputOnInput() throws {
        #expect(try sample(["--out", "digit.png"]).status == 0)
        let before = FileManager.default.contents(atPath: path("digit.png"))
        let r = try Run(["invert", "--model", tiny, "--image", "digit.png", "--steps", "2", "--out", "digit.png", "-q"], directory: tmp.path)
        #expect(r.status == 1 && r.errorLine.contains("--image digit.png and --out digit.png name the same file"), "\(r.stderr)")
        #expect(FileManager.default.contents(atPath: path("digit.png")) == before)
    }

    @Test("a file-size limit (ulimit -f) is the writer's own 'File too large', with no temporary file left")
    func fileSizeLimit() throws {
        let (status, text) = try shell("ulimit -f 2; exec \"$0\" sample --model \"$1\" --steps 2 --batch 64 -q --out big.png")
        #expect(status == 1, "\(text)")
        #expect(text.contains("cannot write big.png: File too large"), "\(text)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path) == [])
    }

    @Test("a folder this process cannot write in is refused before sampling")
    func unwritableFolder() throws {
        try FileManager.default.createDirectory(atPath: path("ro"), withIntermediateDirectories: true)
        #expect(chmod(path("ro"), 0o555) == 0)
        defer { chmod(path("ro"), 0o755) }  // writable again, so that the folder can be removed
        #expect(chmod(tmp.path, 0o755) == 0)
        // root may write anywhere: run as nobody then (setpriv, util-linux)
        let asNobody = geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : ""
        let (status, text) = try shell("\(asNobody)\"$0\" sample --model \"$1\" --steps 2 -q --out ro/x.png")
        #expect(status == 1 && text.contains("--out ro/x.png: the folder ro is not writable"), "\(text)")
        let (dirStatus, dirText) = try shell("\(asNobody)\"$0\" sample --model \"$1\" --steps 2 -q --out-dir ro/new/deeper")
        #expect(dirStatus == 1 && dirText.contains("the folder ro is not writable"), "\(dirText)")
    }

    @Test("a file replaced keeps its permissions")
    func permissions() throws {
        try Data("old".utf8).write(to: URL(fileURLWithPath: path("x.png")))
        #expect(chmod(path("x.png"), 0o600) == 0)
        #expect(try sample(["--out", "x.png"]).status == 0)
        var info = stat()
        #expect(stat(path("x.png"), &info) == 0 && info.st_mode & 0o777 == 0o600)
    }

    @Test("OutputPath.split is total and display escapes control characters")
    func pureFunctions() {
        #expect(OutputPath.split("a") == (".", "a"))
        #expect(OutputPath.split("/a") == ("/", "a"))
        #expect(OutputPath.split("a//b") == ("a", "b"))
        #expect(OutputPath.split("a/") == ("a", ""))
        #expect(OutputPath.split("") == (".", ""))
        #expect(OutputPath.split("é/ü") == ("é", "ü"))
        #expect(OutputPath.display("a\nb\u{1B}[31m") == "a\\nb\\u{1B}[31m")
    }
}

/// What a run records is what ran (issue #16: `--eta 1e19` wrote Eta=-9223372036854775808).
@Suite("Truthful records")
struct TruthfulRecordTests {
    @Test("η labels are exact: integers bare, other values by their shortest round-trip text")
    func etaLabels() {
        #expect(NoiseLevel.eta(0).label == "0" && NoiseLevel.eta(1).label == "1")
        #expect(NoiseLevel.eta(0.2).label == "0.2")
        #expect(NoiseLevel.eta(1e19).label == "1e+19")
        let odd: Float = 0.123456789
        #expect(Float(NoiseLevel.eta(odd).label) == odd)
        #expect(NoiseLevel.ddpmLarge.label == "hat")
    }

    @Test("an η too large for the plan is one line before sampling, exit 1, no PNG", arguments: [
        ["sample", "--eta", "1e19", "--out", "x.png"], ["sample", "--eta", "2", "--out", "x.png"],
        ["compare", "--steps", "5,10", "--eta", "0,3", "--out", "x.png"],
    ])
    func etaRefused(_ args: [String]) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-eta-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tiny = fixtures.appendingPathComponent("pipeline/tiny").path
        let r = try Run(args + ["--model", tiny], directory: dir)
        #expect(r.status == 1 && r.errorLine.contains("too large for this") && r.errorLine.contains("largest η here is"), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [])
    }
}
