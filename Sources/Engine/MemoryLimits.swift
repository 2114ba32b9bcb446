import Foundation
import Tensors

/// What this process may use, read from the kernel, and what it holds now.
///
/// Three limits apply, the smallest binding:
/// - **RLIMIT_AS** (`ulimit -v`, `prlimit --as`): address space, which counts every mapping —
///   libraries, thread stacks, OpenBLAS's 128 MB per calling thread — not just what is touched;
///   compared with what the process maps now (VmSize) plus what a run will map.
/// - **the cgroup's memory limit**: the smallest `memory.max` (cgroup v2) or
///   `memory.limit_in_bytes` (v1) of the process's cgroup and its ancestors; compared with the
///   resident memory the process will hold (other processes of the cgroup are not subtracted).
/// - **physical memory**: MemTotal, and MemAvailable plus what this process holds already.
///   MemTotal alone let a 24 GB run start on a 25 GB machine busy with other work: without swap
///   that ends with the OOM killer, which may pick another process. MemAvailable counts the page
///   cache the kernel can give back, so it refuses only what would push others out; but it moves
///   with what else runs, so the same command may be refused now and run later (the message
///   says "memory available now").
public struct MemoryLimits: Sendable, Equatable {
    /// RLIMIT_AS's soft limit in bytes; nil when unlimited.
    public var addressSpace: Int?
    /// Bytes of address space mapped now (VmSize).
    public var mapped: Int
    /// Bytes resident now (VmRSS).
    public var resident: Int
    /// The cgroup's memory limit in bytes; nil when none is set.
    public var cgroup: Int?
    /// MemTotal in bytes; nil when /proc/meminfo cannot be read.
    public var physical: Int?
    /// MemAvailable in bytes (memory the kernel can give without swapping); nil when unknown.
    public var available: Int?
    /// `DDIM_MEMORY_LIMIT=BYTES` in the environment: a limit of its own on resident memory, for
    /// tests that need a refusal on any machine.
    public var override: Int?

    /// A set of limits (tests build their own).
    public init(addressSpace: Int?, mapped: Int, resident: Int, cgroup: Int?, physical: Int?, available: Int? = nil,
                override: Int? = nil) {
        (self.addressSpace, self.mapped, self.resident) = (addressSpace, mapped, resident)
        (self.cgroup, self.physical, self.available, self.override) = (cgroup, physical, available, override)
    }

    /// The limits of this process now.
    public static func current() -> MemoryLimits {
        var limit = rlimit()
        let addressSpace = getrlimit(addressSpaceResource, &limit) == 0 && limit.rlim_cur != rlim_t.max
            ? Int(clamping: limit.rlim_cur) : nil
        let status = read("/proc/self/status").flatMap(parseStatus)
        let cgroup = read("/proc/self/cgroup").flatMap { procCgroup in
            read("/proc/self/mountinfo").flatMap { cgroupLimit(procSelfCgroup: procCgroup, mountinfo: $0, read: read) }
        }
        let override = ProcessInfo.processInfo.environment["DDIM_MEMORY_LIMIT"].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
        let meminfo = read("/proc/meminfo")
        return MemoryLimits(addressSpace: addressSpace, mapped: status?.mapped ?? 0, resident: status?.resident ?? 0,
                            cgroup: cgroup, physical: meminfo.flatMap(parseMemTotal), available: meminfo.flatMap(parseMemAvailable),
                            override: override)
    }

    // MARK: - Parsing (functions of the files' text, so that tests can hand them any text)

    /// VmSize and VmRSS (bytes) from /proc/self/status ("VmSize:\t  601324 kB").
    public static func parseStatus(_ text: String) -> (mapped: Int, resident: Int)? {
        guard let mapped = kilobytes(field: "VmSize", in: text), let resident = kilobytes(field: "VmRSS", in: text) else {
            return nil
        }
        return (mapped, resident)
    }

    /// MemTotal (bytes) from /proc/meminfo.
    public static func parseMemTotal(_ text: String) -> Int? { kilobytes(field: "MemTotal", in: text) }

    /// MemAvailable (bytes) from /proc/meminfo.
    public static func parseMemAvailable(_ text: String) -> Int? { kilobytes(field: "MemAvailable", in: text) }

    /// A cgroup memory limit file's value: `max` (v2) or a value of 2⁶² or more (v1's
    /// "unlimited", 9223372036854771712) is no limit (nil).
    public static func parseLimit(_ text: String) -> Int? {
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard value != "max", let bytes = Int(value), bytes >= 0, bytes < 1 << 62 else { return nil }
        return bytes
    }

    /// The smallest memory limit over the process's cgroup and its ancestors, reading each
    /// candidate file with `read` (nil: no such file). `procSelfCgroup` is /proc/self/cgroup
    /// ("0::/path" for v2, "N:memory,…:/path" for v1), `mountinfo` /proc/self/mountinfo, which
    /// says where each hierarchy is mounted and which cgroup is the mount's root.
    public static func cgroupLimit(procSelfCgroup: String, mountinfo: String, read: (String) -> String?) -> Int? {
        var smallest: Int?
        for file in cgroupLimitFiles(procSelfCgroup: procSelfCgroup, mountinfo: mountinfo) {
            guard let text = read(file), let bytes = parseLimit(text) else { continue }
            smallest = min(smallest ?? bytes, bytes)
        }
        return smallest
    }

    /// The limit files that apply to this process, its own cgroup first, then each ancestor up
    /// to the hierarchy's mount point.
    public static func cgroupLimitFiles(procSelfCgroup: String, mountinfo: String) -> [String] {
        // (path of the process's cgroup, whether v2) per hierarchy with the memory controller
        var groups: [(path: String, v2: Bool)] = []
        for line in procSelfCgroup.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[0] == "0" && fields[1].isEmpty {
                groups.append((String(fields[2]), true))
            } else if fields[1].split(separator: ",").contains("memory") {
                groups.append((String(fields[2]), false))
            }
        }
        var files: [String] = []
        for line in mountinfo.split(separator: "\n") {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTIONS
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let before = halves[0].split(separator: " "), after = halves[1].split(separator: " ")
            guard before.count >= 5, after.count >= 1 else { continue }
            let (root, mountPoint) = (unescape(String(before[3])), unescape(String(before[4])))
            let v2 = after[0] == "cgroup2"
            guard v2 || (after[0] == "cgroup" && after.count >= 3 && after[2].split(separator: ",").contains("memory")) else {
                continue
            }
            let name = v2 ? "memory.max" : "memory.limit_in_bytes"
            for group in groups where group.v2 == v2 {
                // the cgroup's path below the mount's root
                guard group.path == root || root == "/" || group.path.hasPrefix(root + "/") else { continue }
                var relative = root == "/" ? group.path : String(group.path.dropFirst(root.count))
                while true {
                    let trimmed = relative.hasSuffix("/") ? String(relative.dropLast()) : relative
                    files.append(mountPoint + trimmed + "/" + name)
                    guard !trimmed.isEmpty, let slash = trimmed.lastIndex(of: "/") else { break }
                    relative = String(trimmed[..<slash])
                }
            }
        }
        return files
    }

    // MARK: - Helpers

    /// "NAME:   1234 kB" → 1234 × 1024.
    private static func kilobytes(field: String, in text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let parts = line.dropFirst(field.count + 1).split(separator: " ", omittingEmptySubsequences: true)
                .flatMap { $0.split(separator: "\t") }
            guard let value = parts.first.flatMap({ Int($0) }) else { return nil }
            return parts.count > 1 && parts[1] == "kB" ? value * 1024 : value
        }
        return nil
    }

    /// mountinfo's octal escapes (`\040` for a space).
    private static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        let u = Array(s.utf8)
        var bytes: [UInt8] = []
        var k = 0
        while k < u.count {
            if u[k] == UInt8(ascii: "\\"), k + 3 < u.count,
               let v = UInt8(String(decoding: u[(k + 1)...(k + 3)], as: UTF8.self), radix: 8) {
                bytes.append(v)
                k += 4
            } else {
                bytes.append(u[k])
                k += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A small text file's contents (nil when it cannot be read).
    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            data += buffer[0..<n]
            if data.count > 4 << 20 { break }
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// RLIMIT_AS as getrlimit takes it (Glibc imports it as an enum value on Linux).
#if canImport(Glibc)
private let addressSpaceResource = __rlimit_resource_t(RLIMIT_AS.rawValue)
#else
private let addressSpaceResource = RLIMIT_AS
#endif
