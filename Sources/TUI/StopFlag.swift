import Foundation

/// A flag set from a signal handler's queue and read by the UI loop.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int32?
    /// Records the first signal that asked to stop.
    func set(_ sig: Int32) { lock.lock(); value = value ?? sig; lock.unlock() }
    var isSet: Bool { signal != nil }
    /// The signal that asked to stop, if one did.
    var signal: Int32? { lock.lock(); defer { lock.unlock() }; return value }
}
