import Foundation
import Testing

/// OpenBLAS's own threads (started as it loads, spinning ~70 ms for work before they sleep) are
/// stopped at start: a one-thread `ddim bench` uses no more CPU time than wall-clock time. With
/// them spinning on a free core, its CPU time passed its wall time by ~0.1 s.
@Suite("OpenBLAS's idle threads")
struct BlasThreadsTests {
    @Test("a one-thread run's CPU time stays within its wall-clock time")
    func noSpinningThreads() throws {
        // the embedded model, long enough (~0.15 s) for the spin to show: session 12's binary
        // measured CPU 0.26 s against 0.16 s wall, this one 0.15 against 0.15
        let argv = [ddimBinary.path, "bench", "--threads", "1", "--runs", "40", "--json"]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid: pid_t = 0
        let start = Date()
        #expect(posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ) == 0)
        var status: Int32 = 0
        var usage = rusage()
        #expect(wait4(pid, &status, 0, &usage) == pid)
        let wall = Date().timeIntervalSince(start)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        let cpu = seconds(usage.ru_utime) + seconds(usage.ru_stime)
        #expect(status == 0)
        // one computing thread: CPU ≤ wall (a little slack for the kernel's accounting)
        #expect(cpu <= wall + 0.02, "CPU \(cpu) s against wall \(wall) s: another thread was busy")
    }
}
