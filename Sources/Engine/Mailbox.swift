import Dispatch
import Foundation

/// The only place a live worker and the UI meet: commands in, applied by the worker between
/// steps, and the latest snapshot out (latest wins, with a version that grows with each
/// publication). One lock guards both; the UI never waits for a step, and the worker waits only
/// while it has nothing to do, or nothing due yet (a paced step).
///
/// A worker's loop is ``serve(_:)``: take the commands, apply them, step if the state machine
/// wants to, publish; wait while there is nothing to do.
///
/// `@unchecked Sendable`: every stored property but the lock is guarded by `condition`.
public final class Mailbox<Command: Sendable, Snapshot: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var pending: [Command] = []
    private var snapshot: Snapshot
    private var version = 0
    private var started = false
    private var stopping = false
    private var finished = false

    /// A mailbox whose snapshot is `initial` (version 0) until the worker publishes.
    public init(_ initial: Snapshot) { snapshot = initial }

    // MARK: - The UI's side

    /// Queues a command for the worker; it takes effect before the worker's next step.
    public func send(_ command: Command) {
        condition.lock()
        pending.append(command)
        condition.signal()
        condition.unlock()
    }

    /// The latest snapshot and its version (0 before the first publication).
    public func latest() -> (snapshot: Snapshot, version: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (snapshot, version)
    }

    /// Runs `work` on `queue` the first time it is called; later calls do nothing.
    public func startOnce(on queue: DispatchQueue, _ work: @escaping @Sendable () -> Void) {
        condition.lock()
        let first = !started
        started = true
        condition.unlock()
        if first { queue.async(execute: work) }
    }

    /// Asks the worker to stop after the step in progress and waits (at most `timeout` seconds)
    /// until it has; returns at once if it never started.
    public func stop(timeout: Double = 30) {
        condition.lock()
        stopping = true
        condition.broadcast()
        let deadline = Date().addingTimeInterval(timeout)
        while started && !finished && condition.wait(until: deadline) {}
        condition.unlock()
    }

    // MARK: - The worker's side

    /// Waits while there is no command, no stop, and `idle()` holds, then returns the commands
    /// queued since the last call (possibly none), in the order they were sent. Returns `nil`
    /// once ``stop(timeout:)`` was called, after marking the worker finished: the worker then
    /// returns. `idle` is evaluated under the lock, on the worker's own state only.
    public func take(waitingWhile idle: () -> Bool) -> [Command]? {
        take(waitingUpTo: { idle() ? .infinity : 0 })
    }

    /// ``take(waitingWhile:)`` for a worker whose next step may be due later: waits while there
    /// is no command, no stop, and `seconds()` (how long the worker has nothing to do: ∞ while
    /// idle, ≤ 0 when it has something to do now) is positive — a timed wait for a finite one,
    /// evaluated again when it ends, so a command still wakes the worker at once.
    public func take(waitingUpTo seconds: () -> Double) -> [Command]? {
        condition.lock()
        defer { condition.unlock() }
        while !stopping && pending.isEmpty {
            let wait = seconds()
            guard wait > 0 else { break }
            // a Date deadline is on the wall clock, which may jump: at most 1 s at a time, then ask again
            if wait.isFinite { _ = condition.wait(until: Date(timeIntervalSinceNow: min(wait, 1))) } else { condition.wait() }
        }
        if stopping {
            finished = true
            condition.broadcast()
            return nil
        }
        defer { pending.removeAll() }
        return pending
    }

    /// Publishes `snapshot` as the latest one, with the next version.
    public func publish(_ new: Snapshot) {
        condition.lock()
        snapshot = new
        version += 1
        condition.unlock()
    }
}

/// A synchronous state machine that a worker runs through a ``Mailbox`` (``LiveRun``,
/// ``StudioRun``): commands change it, steps advance it, and its snapshot is what the UI sees.
public protocol LiveWork {
    /// A request from the UI.
    associatedtype Command
    /// What the UI sees.
    associatedtype Snapshot
    /// The current picture of the work.
    var snapshot: Snapshot { get }
    /// Whether ``step()`` has something to do, now or when it is due; the worker waits while it has not.
    var wantsStep: Bool { get }
    /// Seconds until ``step()`` has something to do: ∞ while it has nothing, ≤ 0 when it has
    /// something now; the worker waits that long unless a command comes. The default: 0 when
    /// ``wantsStep``, else ∞ (a step is never due later).
    func secondsUntilStep() -> Double
    /// Applies one command.
    mutating func apply(_ command: Command)
    /// Runs one step if it wants one; returns whether the snapshot changed.
    mutating func step() -> Bool
}

extension LiveWork {
    /// 0 when ``wantsStep``, else ∞: work that steps as soon as it wants to.
    public func secondsUntilStep() -> Double { wantsStep ? 0 : .infinity }
}

extension Mailbox {
    /// The worker's loop: publishes `work`'s snapshot, then, until ``stop(timeout:)``, applies the
    /// commands sent, steps while `work` wants to, and publishes each change; it waits (without
    /// polling) while there are no commands and `work` does not want a step, or until its next
    /// step is due (``LiveWork/secondsUntilStep()``).
    public func serve<Work: LiveWork>(_ work: Work) where Work.Command == Command, Work.Snapshot == Snapshot {
        var work = work
        publish(work.snapshot)
        while let commands = take(waitingUpTo: { work.secondsUntilStep() }) {
            for command in commands { work.apply(command) }
            if !commands.isEmpty { publish(work.snapshot) }
            if work.step() { publish(work.snapshot) }
        }
    }
}
