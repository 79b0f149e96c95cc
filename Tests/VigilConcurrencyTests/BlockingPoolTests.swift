import Dispatch
import Foundation
import Synchronization
import Testing
import VigilConcurrency

@Suite struct BlockingPoolTests {
    /// Six items that each hold their thread until released: two run, four wait their turn.
    @Test func runsAtMostThreadCountItemsAtOnce() throws {
        let pool = BlockingPool(threadCount: 2, label: "test.width")
        pool.start()
        let started = Mutex(0)
        let gate = Gate()
        for _ in 0..<6 {
            try pool.submit {
                started.withLock { $0 += 1 }
                gate.pass()
            }
        }
        #expect(poll { started.withLock { $0 } == 2 })
        Thread.sleep(forTimeInterval: 0.1)  // time for a third item to start, were the bound broken
        #expect(started.withLock { $0 } == 2)
        #expect(pool.queuedCount == 4)
        gate.open()
        pool.shutdown()
        #expect(started.withLock { $0 } == 6)
        #expect(pool.mostRunningAtOnce == 2)
    }

    /// An idle pool sleeps: every thread ends on the idle stack once the work is done. The
    /// thread that spins briefly for more work used to spin again and again, a core burned
    /// by an idle service.
    @Test func anIdlePoolSleepsInsteadOfSpinning() throws {
        let pool = BlockingPool(threadCount: 3, label: "test.idle")
        pool.start()
        defer { pool.shutdown() }
        #expect(poll { pool.sleepingThreads == 3 })
        try pool.submit {}
        #expect(poll { pool.sleepingThreads == 3 })
        Thread.sleep(forTimeInterval: 0.05)
        #expect(pool.sleepingThreads == 3)
    }

    @Test func oneThreadRunsItemsInSubmissionOrder() throws {
        let pool = BlockingPool(threadCount: 1, label: "test.order")
        pool.start()
        let seen = Mutex<[Int]>([])
        for index in 0..<200 {
            try pool.submit { seen.withLock { $0.append(index) } }
        }
        pool.shutdown()
        #expect(seen.withLock { $0 } == Array(0..<200))
    }

    @Test func shutdownLetsQueuedWorkFinishBeforeItReturns() throws {
        let pool = BlockingPool(threadCount: 3, label: "test.drain")
        pool.start()
        let done = Mutex(0)
        for _ in 0..<60 {
            try pool.submit {
                Thread.sleep(forTimeInterval: 0.002)
                done.withLock { $0 += 1 }
            }
        }
        pool.shutdown()
        #expect(done.withLock { $0 } == 60)
    }

    @Test func workSubmittedBeforeStartWaitsForIt() throws {
        let pool = BlockingPool(threadCount: 1, label: "test.before")
        let ran = Mutex(false)
        try pool.submit { ran.withLock { $0 = true } }
        Thread.sleep(forTimeInterval: 0.05)
        #expect(!ran.withLock { $0 })
        pool.start()
        pool.shutdown()
        #expect(ran.withLock { $0 })
    }

    @Test func aShutDownPoolRefusesWork() throws {
        let pool = BlockingPool(threadCount: 2, label: "test.refuse")
        pool.start()
        pool.shutdown()
        let ran = Mutex(false)
        #expect(throws: BlockingPool.Refusal.shutDown(label: "test.refuse")) {
            try pool.submit { ran.withLock { $0 = true } }
        }
        #expect(!ran.withLock { $0 })
        pool.shutdown()  // again: returns at once
    }

    /// Work queued while the pool shuts down is refused too, and what was queued before still runs.
    @Test func workSubmittedDuringShutdownIsRefused() throws {
        let pool = BlockingPool(threadCount: 1, label: "test.during")
        pool.start()
        let refused = Mutex<Bool?>(nil)
        let gate = Gate()
        try pool.submit { gate.pass() }
        try pool.submit {
            do {
                try pool.submit {}
                refused.withLock { $0 = false }
            } catch {
                refused.withLock { $0 = true }
            }
        }
        let stopped = DispatchGroup()
        stopped.enter()
        Thread.detachNewThread {
            pool.shutdown()
            stopped.leave()
        }
        Thread.sleep(forTimeInterval: 0.05)  // shutdown has begun and waits for the held item
        #expect(stopped.wait(timeout: .now()) == .timedOut)
        gate.open()
        #expect(stopped.wait(timeout: .now() + 5) == .success)
        #expect(refused.withLock { $0 } == true)
    }

    @Test func waitReturnsTheCompletionsValue() {
        let value = BlockingPool.wait { (complete: @escaping @Sendable (Int) -> Void) in
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { complete(42) }
        }
        #expect(value == 42)
    }

    @Test func waitTakesTheFirstCompletionEvenBeforeTheOperationReturns() {
        let value = BlockingPool.wait { (complete: @escaping @Sendable (String) -> Void) in
            complete("first")
            complete("second")
        }
        #expect(value == "first")
    }

    @Test func aBoundedWaitGivesUpAtItsTimeoutAndIgnoresALateCompletion() {
        let late = Mutex<(@Sendable (Int) -> Void)?>(nil)
        let began = DispatchTime.now()
        let value = BlockingPool.wait(timeout: 0.1) { (complete: @escaping @Sendable (Int) -> Void) in
            late.withLock { $0 = complete }
        }
        let waited = Double(DispatchTime.now().uptimeNanoseconds - began.uptimeNanoseconds) / 1e9
        #expect(value == nil)
        #expect(waited >= 0.1)
        late.withLock { $0 }?(7)  // after the wait returned: ignored, and harmless
    }

    @Test func aBoundedWaitReturnsTheValueWhenItComesInTime() {
        let value = BlockingPool.wait(timeout: 5) { (complete: @escaping @Sendable (Int) -> Void) in
            DispatchQueue.global().async { complete(9) }
        }
        #expect(value == 9)
    }

    /// A pool thread may wait for work on another pool's thread.
    @Test func aPoolThreadMayWait() throws {
        let outer = BlockingPool(threadCount: 1, label: "test.outer")
        let inner = BlockingPool(threadCount: 1, label: "test.inner")
        outer.start()
        inner.start()
        let answer = Mutex<Int?>(nil)
        try outer.submit {
            let value = BlockingPool.wait { (complete: @escaping @Sendable (Int) -> Void) in
                try? inner.submit { complete(5) }
            }
            answer.withLock { $0 = value }
        }
        outer.shutdown()
        inner.shutdown()
        #expect(answer.withLock { $0 } == 5)
    }
}

/// Holds the threads that call `pass` until `open` is called.
private final class Gate: Sendable {
    private let opened = Mutex(false)

    func pass() {
        while !opened.withLock({ $0 }) { Thread.sleep(forTimeInterval: 0.001) }
    }

    func open() { opened.withLock { $0 = true } }
}

/// Whether `condition` holds within five seconds.
private func poll(_ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(5)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.001)
    }
    return false
}
