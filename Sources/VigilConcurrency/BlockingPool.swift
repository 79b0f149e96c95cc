import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A fixed number of dedicated threads for work that blocks (a SQLite commit, an SMTP
/// exchange, a Kafka acknowledgement, a handler that waits for one of those), so that the
/// Dispatch threads serving connections never do (DESIGN §4; swift-nio's `NIOThreadPool`
/// is the model).
///
/// `start` makes the threads; `submit` queues work, started in submission order by the
/// first free thread (or the thread asleep for the shortest time), at most `threadCount` at once; `shutdown` refuses new work, lets the queued
/// work finish and joins the threads. Work submitted before `start` waits for it.
///
/// The one blocking wait of the codebase is here too: `BlockingPool.wait(for:)` (and its
/// bounded form) starts an operation that answers through a callback and blocks the calling
/// thread until it does. Who may call it: a thread of a `BlockingPool`, a dedicated thread
/// (a Kafka client's thread, the main thread of a command-line command, a test), never a
/// Dispatch thread that serves connections or a Swift concurrency thread: those are shared,
/// and a blocked one is one fewer for everybody.
public final class BlockingPool: Sendable {
    /// Why `submit` refused work.
    public enum Refusal: Error, Equatable, CustomStringConvertible {
        /// The pool is shutting down or shut down: its threads take no more work.
        case shutDown(label: String)

        public var description: String {
            switch self {
            case .shutDown(let label): return "the blocking pool \(label) is shut down and takes no more work"
            }
        }
    }

    /// The pool's name, for messages.
    public let label: String
    /// The most work items that run at once.
    public let threadCount: Int

    private let state = Mutex(State())
    /// Items queued and not started, kept beside `state` so the spinning thread can look
    /// without taking the lock submitters need.
    private let queued = Atomic<Int>(0)
    /// Each thread's wake-up, signalled once each time it is taken off the idle stack.
    private let wakeups: [DispatchSemaphore]

    private struct State {
        var queue: [@Sendable () -> Void] = []
        var head = 0
        var lifecycle = Lifecycle.idle
        var threads: [pthread_t] = []
        /// The threads asleep, the latest last: work wakes the one that slept least (its
        /// stack and caches are warm), and a busy pool keeps few threads moving.
        var idle: [Int] = []
        /// Whether a thread that ran out of work is spinning briefly for more before it
        /// sleeps: the next item submitted is its, without a wake-up.
        var spinning = false
        var running = 0
        var mostRunning = 0

        mutating func next() -> (@Sendable () -> Void)? {
            guard head < queue.count else { return nil }
            let work = queue[head]
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 64, head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            running += 1
            mostRunning = max(mostRunning, running)
            return work
        }
    }

    /// What a thread does next.
    private enum Step {
        case run(@Sendable () -> Void)
        case spin
        case sleep
        case end
    }

    private enum Lifecycle { case idle, started, shuttingDown, shutDown }

    /// A pool of `threadCount` threads (at least one) named `label`; call `start` to run them.
    public init(threadCount: Int, label: String = "vigil.blocking") {
        self.threadCount = max(1, threadCount)
        self.label = label
        wakeups = (0..<self.threadCount).map { _ in DispatchSemaphore(value: 0) }
    }

    /// Makes the threads. Calling it again, or after `shutdown`, does nothing.
    public func start() {
        let begin = state.withLock { state in
            guard state.lifecycle == .idle else { return false }
            state.lifecycle = .started
            return true
        }
        guard begin else { return }
        var made: [pthread_t] = []
        for index in 0..<threadCount {
            let context = Unmanaged.passRetained(ThreadContext(pool: self, index: index)).toOpaque()
            var thread = pthread_t()
            let result = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<ThreadContext>.fromOpaque(raw!).takeRetainedValue()
                context.pool.run(context.index)
                return nil
            }, context)
            precondition(result == 0, "BlockingPool \(label) could not make a thread: error \(result)")
            made.append(thread)
        }
        state.withLock { $0.threads = made }
    }

    /// Queues `work` to run on one of the pool's threads, or throws `Refusal.shutDown` once
    /// `shutdown` was called.
    public func submit(_ work: @escaping @Sendable () -> Void) throws(Refusal) {
        let (accepted, wake): (Bool, Int?) = state.withLock { state in
            guard state.lifecycle == .idle || state.lifecycle == .started else { return (false, nil) }
            let spinnerTakesIt = state.spinning && state.head == state.queue.count
            state.queue.append(work)
            queued.add(1, ordering: .relaxed)
            return (true, spinnerTakesIt ? nil : state.idle.popLast())
        }
        guard accepted else { throw .shutDown(label: label) }
        if let wake { wakeups[wake].signal() }
    }

    /// Refuses new work, lets every queued item run, and returns once the threads have ended.
    /// Must not be called from one of the pool's own threads (it would wait for itself).
    /// Calling it again returns at once.
    public func shutdown() {
        let (threads, sleeping): ([pthread_t], [Int]) = state.withLock { state in
            switch state.lifecycle {
            case .idle:
                state.lifecycle = .shutDown
                return ([], [])
            case .started:
                state.lifecycle = .shuttingDown
                defer { state.idle = [] }
                return (state.threads, state.idle)
            case .shuttingDown, .shutDown:
                return ([], [])
            }
        }
        guard !threads.isEmpty else { return }
        precondition(!threads.contains(where: { pthread_equal($0, pthread_self()) != 0 }), "BlockingPool.shutdown called from the pool's own thread")
        // Threads at work end once they find the queue empty; the sleeping ones are woken to.
        for index in sleeping { wakeups[index].signal() }
        for thread in threads { pthread_join(thread, nil) }
        state.withLock { $0.lifecycle = .shutDown }
    }

    /// As `shutdown`, but returns at once: the threads are joined on a thread made for it,
    /// which then calls `done`. For an owner that may itself be on one of the pool's threads,
    /// or that stopped waiting for work still running.
    public func shutdownGracefully(_ done: @escaping @Sendable () -> Void = {}) {
        Thread.detachNewThread { [self] in
            shutdown()
            done()
        }
    }

    /// Work items queued and not yet started.
    public var queuedCount: Int { state.withLock { $0.queue.count - $0.head } }

    /// Threads asleep for want of work (all of them, once an idle pool has settled).
    public var sleepingThreads: Int { state.withLock { $0.idle.count } }

    /// The most work items that ever ran at once (never more than `threadCount`).
    public var mostRunningAtOnce: Int { state.withLock { $0.mostRunning } }

    /// Thread `index`'s loop: the next queued item, as long as there is one; then asleep on
    /// the idle stack until `submit` or `shutdown` takes it off; once shutting down with
    /// nothing queued, the end. A busy thread goes from item to item without sleeping.
    private func run(_ index: Int) {
        var ranOne = false
        // Set once this thread has spun and found nothing: it then sleeps instead of spinning
        // again (a thread that spun forever burned a core in an idle service).
        var spun = false
        while true {
            let step: Step = state.withLock { state in
                if ranOne { state.running -= 1 }
                if let work = state.next() {
                    queued.subtract(1, ordering: .relaxed)
                    return .run(work)
                }
                if state.lifecycle == .shuttingDown || state.lifecycle == .shutDown { return .end }
                if !state.spinning && !spun {
                    state.spinning = true
                    return .spin
                }
                state.idle.append(index)
                return .sleep
            }
            ranOne = false
            switch step {
            case .run(let work):
                spun = false
                work()
                ranOne = true
            case .spin:
                spinForWork()
                spun = true
                state.withLock { $0.spinning = false }
            case .sleep:
                spun = false
                wakeups[index].wait()
            case .end:
                return
            }
        }
    }

    /// How long the thread that ran out of work first looks for more before it sleeps.
    /// (Measured on the ingest bench, 2 cores: no spin halved the bare server's rate; 200 µs
    /// was no better than 50.)
    private static let spinNanoseconds: UInt64 = 50_000

    /// Returns once work is queued or `spinNanoseconds` have passed (a shutdown waits that
    /// long at most), yielding the processor between looks. Under load an item is often
    /// submitted within that time, and taking it so costs no sleep and no wake-up.
    private func spinForWork() {
        let until = DispatchTime.now().uptimeNanoseconds + Self.spinNanoseconds
        while DispatchTime.now().uptimeNanoseconds < until {
            if queued.load(ordering: .relaxed) > 0 { return }
            sched_yield()
        }
    }

    private final class ThreadContext {
        let pool: BlockingPool
        let index: Int
        init(pool: BlockingPool, index: Int) {
            self.pool = pool
            self.index = index
        }
    }

    // MARK: the one blocking wait

    /// Starts an operation with `operation`, handing it a completion, and blocks the calling
    /// thread until the completion is called; returns the value it was called with. Only the
    /// first call of the completion counts; it may be called on any thread, even before
    /// `operation` returns.
    ///
    /// Call it only where a thread may block (see the type's notes): a pool thread, a
    /// dedicated thread, a command's main thread.
    public static func wait<T: Sendable>(for operation: (_ complete: @escaping @Sendable (T) -> Void) -> Void) -> T {
        let waiter = Waiter<T>()
        operation { waiter.complete($0) }
        waiter.signal.wait()
        return waiter.answer.withLock { $0.value! }
    }

    /// As `wait(for:)`, but gives up after `timeout` seconds and returns nil; a completion
    /// that comes later is ignored.
    public static func wait<T: Sendable>(timeout: Double, for operation: (_ complete: @escaping @Sendable (T) -> Void) -> Void) -> T? {
        wait(until: .now() + max(0, timeout), for: operation)
    }

    /// As `wait(for:)`, but gives up at `deadline` and returns nil; a completion that comes
    /// later is ignored.
    public static func wait<T: Sendable>(until deadline: DispatchTime, for operation: (_ complete: @escaping @Sendable (T) -> Void) -> Void) -> T? {
        let waiter = Waiter<T>()
        operation { waiter.complete($0) }
        if waiter.signal.wait(timeout: deadline) == .success {
            return waiter.answer.withLock { $0.value! }
        }
        // Settled now: a completion racing with the deadline either got in first (its value
        // counts) or is ignored.
        return waiter.answer.withLock { answer -> T? in
            if answer.settled { return answer.value }
            answer.settled = true
            return nil
        }
    }

    /// One wait's answer: the first completion's value, and the signal that wakes the waiter.
    private final class Waiter<T: Sendable>: Sendable {
        let answer = Mutex<(settled: Bool, value: T?)>((false, nil))
        let signal = DispatchSemaphore(value: 0)

        func complete(_ result: T) {
            let first = answer.withLock { answer in
                guard !answer.settled else { return false }
                answer = (true, result)
                return true
            }
            if first { signal.signal() }
        }
    }
}

extension BlockingPool {
    /// `wait(for:)` for an operation that answers with nothing but the fact that it is done.
    public static func wait(for operation: (_ done: @escaping @Sendable () -> Void) -> Void) {
        let _: Bool = wait { (complete: @escaping @Sendable (Bool) -> Void) in operation { complete(true) } }
    }

    /// `wait(timeout:for:)` for an operation that answers with nothing; `false` on timeout.
    @discardableResult
    public static func wait(timeout: Double, for operation: (_ done: @escaping @Sendable () -> Void) -> Void) -> Bool {
        wait(timeout: timeout) { (complete: @escaping @Sendable (Bool) -> Void) in operation { complete(true) } } ?? false
    }

    /// `wait(until:for:)` for an operation that answers with nothing; `false` when the deadline came first.
    @discardableResult
    public static func wait(until deadline: DispatchTime, for operation: (_ done: @escaping @Sendable () -> Void) -> Void) -> Bool {
        wait(until: deadline) { (complete: @escaping @Sendable (Bool) -> Void) in operation { complete(true) } } ?? false
    }

    /// Blocks the calling thread until `group` is empty (the same rules as `wait(for:)`).
    public static func wait(for group: DispatchGroup) {
        wait { (empty: @escaping @Sendable () -> Void) in group.notify(queue: .global(), execute: empty) }
    }

    /// Blocks the calling thread until `group` is empty or `timeout` seconds have passed;
    /// `false` on timeout (the same rules as `wait(for:)`).
    public static func wait(for group: DispatchGroup, timeout: Double) -> Bool {
        wait(timeout: timeout) { (empty: @escaping @Sendable () -> Void) in group.notify(queue: .global(), execute: empty) }
    }
}
