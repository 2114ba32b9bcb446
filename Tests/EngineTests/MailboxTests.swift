import Dispatch
import Engine
import Testing

/// Counts up to the sum of the numbers sent, one per step; stops its mailbox when it gets there.
struct Counter: LiveWork {
    var snapshot = 0
    var target = 0
    let reached: () -> Void
    var wantsStep: Bool { snapshot < target }
    mutating func apply(_ command: Int) { target += command }
    mutating func step() -> Bool {
        guard wantsStep else { return false }
        snapshot += 1
        if snapshot == target { reached() }
        return true
    }
}

@Suite("The workers' mailbox")
struct MailboxTests {
    @Test("commands come out in order, at once when there are some; the snapshot is the latest, versioned")
    func takeAndPublish() {
        let mailbox = Mailbox<Int, String>("start")
        #expect(mailbox.latest() == ("start", 0))
        mailbox.send(1)
        mailbox.send(2)
        #expect(mailbox.take(waitingWhile: { true }) == [1, 2])
        #expect(mailbox.take(waitingWhile: { false }) == [])
        mailbox.publish("a")
        mailbox.publish("b")
        #expect(mailbox.latest() == ("b", 2))
    }

    @Test("stop before start returns at once; then take says stop")
    func stopUnstarted() {
        let mailbox = Mailbox<Int, Int>(0)
        mailbox.send(1)
        mailbox.stop(timeout: 0)
        #expect(mailbox.take(waitingWhile: { false }) == nil)
    }

    @Test("serve: publishes the start, applies commands, steps while wanted, publishes each change, ends on stop")
    func serve() {
        let mailbox = Mailbox<Int, Int>(-1)
        mailbox.send(2)
        mailbox.send(1)
        // the worker's loop, run here: it stops itself when it has counted to 3
        mailbox.serve(Counter(reached: { mailbox.stop() }))
        // start, commands, steps 1, 2, 3
        #expect(mailbox.latest() == (3, 5))
    }

    @Test("a started worker waits without polling, wakes for a command and is waited for by stop")
    func worker() {
        let mailbox = Mailbox<Int, Int>(-1)
        let queue = DispatchQueue(label: "mailbox test")
        let reached = DispatchSemaphore(value: 0)
        for _ in 0..<2 { mailbox.startOnce(on: queue) { mailbox.serve(Counter(reached: { reached.signal() })) } }
        mailbox.send(4)
        reached.wait()
        mailbox.stop()
        #expect(mailbox.latest().snapshot == 4)
        // a second startOnce started nothing: the queue is free at once
        queue.sync {}
    }

    @Test("a timed wait ends when its time is up, or at once for a command; a due worker does not wait")
    func timedWait() {
        let mailbox = Mailbox<Int, Int>(0)
        var calls = 0
        // waits 10 ms, asks again, is told there is something to do now
        #expect(mailbox.take(waitingUpTo: { calls += 1; return calls == 1 ? 0.01 : 0 }) == [])
        #expect(calls == 2)
        #expect(mailbox.take(waitingUpTo: { -1 }) == [])
        // a command ends a 60 s wait: the time is asked for once, not again after a timeout
        calls = 0
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.01) { mailbox.send(7) }
        #expect(mailbox.take(waitingUpTo: { calls += 1; return 60 }) == [7])
        #expect(calls == 1)
    }
}
