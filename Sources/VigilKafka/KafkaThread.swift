import Dispatch
import Foundation
import Synchronization

/// A named thread of its own for one Kafka loop (a producer's delivery reports, a reader's
/// records): `stop()` asks it to end, `join()` waits until it has, and `pause` waits without
/// spinning, cut short by `stop()`. Its name (`vigil-kafka-…`, at most 15 bytes) shows in
/// `/proc/<pid>/task/*/comm`, so the threads a process runs can be counted.
final class KafkaThread: Sendable {
    /// What the thread was made for, as its name.
    let name: String
    private let stopping = Mutex(false)
    private let joined = Mutex(false)
    /// Signalled by `stop()` so a `pause` in progress ends at once.
    private let wake = DispatchSemaphore(value: 0)
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
    var isStopping: Bool { stopping.withLock { $0 } }

    /// Waits `seconds`, or less when `stop()` comes first; `false` when the thread should end.
    func pause(_ seconds: Double) -> Bool {
        guard !isStopping else { return false }
        _ = wake.wait(timeout: .now() + seconds)
        return !isStopping
    }

    /// Asks the thread to end; idempotent.
    func stop() {
        let first = stopping.withLock { stopping in
            defer { stopping = true }
            return !stopping
        }
        if first { wake.signal() }
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
        private let handed = DispatchSemaphore(value: 0)
        private let parts = Mutex<(KafkaThread, @Sendable (KafkaThread) -> Void)?>(nil)

        func hand(_ owner: KafkaThread, _ body: @escaping @Sendable (KafkaThread) -> Void) {
            parts.withLock { $0 = (owner, body) }
            handed.signal()
        }

        func take() -> (KafkaThread, @Sendable (KafkaThread) -> Void) {
            handed.wait()
            return parts.withLock { $0! }
        }
    }
}
