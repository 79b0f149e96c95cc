import Dispatch
import Foundation
import Synchronization
import VigilConcurrency

/// A named thread of its own for one Kafka loop (a producer's delivery reports, a reader's
/// records): `stop()` asks it to end, `join()` waits until it has, and `pause` waits without
/// spinning, cut short by `stop()`. Its name (`vigil-kafka-…`, at most 15 bytes) shows in
/// `/proc/<pid>/task/*/comm`, so the threads a process runs can be counted.
final class KafkaThread: Sendable {
    /// What the thread was made for, as its name.
    let name: String
    /// Whether `stop()` was called, and the completion of a `pause` in progress, which
    /// `stop()` calls so that the pause ends at once.
    private let stopping = Mutex<(stopped: Bool, wake: (@Sendable () -> Void)?)>((false, nil))
    private let joined = Mutex(false)
    private let thread: pthread_t

    /// Starts a thread named `name` running `body` (handed this thread, to ask `isStopping`
    /// and to `pause`); `body` should return soon after `isStopping` turns `true`.
    init(name: String, _ body: @escaping @Sendable (KafkaThread) -> Void) throws(KafkaError) {
        self.name = String(name.utf8.prefix(15))!
        let start = Start()
        var thread = pthread_t()
        let context = Unmanaged.passRetained(start).toOpaque()
        let code = pthread_create(&thread, nil, { context in
            let start = Unmanaged<Start>.fromOpaque(context!).takeRetainedValue()
            let (owner, body) = start.take()
            Thread.current.name = owner.name  // sets the kernel's thread name too
            body(owner)
            return nil
        }, context)
        guard code == 0 else {
            Unmanaged<Start>.fromOpaque(context).release()
            throw KafkaError("cannot start the \(name) thread: error \(code)")
        }
        self.thread = thread
        start.hand(self, body)
    }

    /// `true` once `stop()` was called.
    var isStopping: Bool { stopping.withLock { $0.stopped } }

    /// Waits `seconds`, or less when `stop()` comes first; `false` when the thread should end.
    /// Only this thread calls it (a dedicated thread may block: `BlockingPool.wait`).
    func pause(_ seconds: Double) -> Bool {
        guard !isStopping else { return false }
        _ = BlockingPool.wait(timeout: seconds) { (woken: @escaping @Sendable () -> Void) in
            let stopped = stopping.withLock { state in
                if !state.stopped { state.wake = woken }
                return state.stopped
            }
            if stopped { woken() }
        }
        stopping.withLock { $0.wake = nil }
        return !isStopping
    }

    /// Asks the thread to end; idempotent.
    func stop() {
        let wake = stopping.withLock { state in
            defer { state = (true, nil) }
            return state.wake
        }
        wake?()
    }

    /// `true` when called on this thread.
    var isCurrent: Bool { pthread_equal(pthread_self(), thread) != 0 }

    /// Stops the thread and waits until it has ended; from the thread itself, only stops it
    /// (it ends when its body returns). Idempotent.
    func join() {
        stop()
        let first = joined.withLock { joined in
            defer { joined = true }
            return !joined
        }
        guard first else { return }
        if isCurrent {
            pthread_detach(thread)
        } else {
            pthread_join(thread, nil)
        }
    }

    /// What the new thread needs, handed over once `init` has its id: the thread waits for it.
    private final class Start: Sendable {
        typealias Parts = (KafkaThread, @Sendable (KafkaThread) -> Void)
        /// The parts once handed, or the new thread's completion while it waits for them.
        private let state = Mutex<(parts: Parts?, taker: (@Sendable (Parts) -> Void)?)>((nil, nil))

        func hand(_ owner: KafkaThread, _ body: @escaping @Sendable (KafkaThread) -> Void) {
            let taker = state.withLock { state in
                defer { state = ((owner, body), nil) }
                return state.taker
            }
            taker?((owner, body))
        }

        /// Called on the new thread, which may block (`BlockingPool.wait`).
        func take() -> Parts {
            BlockingPool.wait { (taken: @escaping @Sendable (Parts) -> Void) in
                let parts: Parts? = state.withLock { state in
                    if state.parts == nil { state.taker = taken }
                    return state.parts
                }
                if let parts { taken(parts) }
            }
        }
    }
}
