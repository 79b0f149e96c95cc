import Dispatch
import Synchronization
import VigilConcurrency

/// How far this process has read each partition of a topic, and a wait until it has read
/// past a position: the router waits here for the log's follower to catch up with a record
/// it took from its own consumer. A waiter sleeps in `BlockingPool.wait` until the reader
/// calls its completion as its partition passes the position; nothing polls.
final class KafkaReadProgress: Sendable {
    private let state = Mutex(State())

    private struct State {
        /// Per partition, the offset after the last record read (0: nothing read).
        var through: [Int32: Int64] = [:]
        var waiters: [Waiter] = []
        var nextWaiter: UInt64 = 0
    }

    private struct Waiter {
        let id: UInt64
        let partition: Int32
        let offset: Int64
        let reached: @Sendable () -> Void
    }

    /// Records that `partition` has been read through `offset`.
    func advance(_ partition: Int32, past offset: Int64) {
        let reached: [@Sendable () -> Void] = state.withLock { state in
            let through = max(state.through[partition] ?? 0, offset + 1)
            state.through[partition] = through
            let (done, waiting) = state.waiters.reduce(into: ([Waiter](), [Waiter]())) { split, waiter in
                if waiter.partition == partition && through > waiter.offset { split.0.append(waiter) } else { split.1.append(waiter) }
            }
            state.waiters = waiting
            return done.map(\.reached)
        }
        for waiter in reached { waiter() }
    }

    /// Whether `offset` of `partition` has been read.
    func hasRead(_ partition: Int32, _ offset: Int64) -> Bool { state.withLock { ($0.through[partition] ?? 0) > offset } }

    /// Waits until `offset` of `partition` has been read; `false` when `deadline` came first.
    /// It blocks its thread (`BlockingPool.wait`): the router's own thread calls it.
    func wait(until partition: Int32, _ offset: Int64, deadline: DispatchTime) -> Bool {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        let reached = BlockingPool.wait(until: deadline) { (reached: @escaping @Sendable () -> Void) in
            let registered = state.withLock { state in
                guard (state.through[partition] ?? 0) <= offset else { return false }
                state.waiters.append(Waiter(id: id, partition: partition, offset: offset, reached: reached))
                return true
            }
            if !registered { reached() }
        }
        if reached { return true }
        // Timed out, unless the reader got there between the timeout and this lock.
        return state.withLock { state in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return true }
            state.waiters.remove(at: index)
            return false
        }
    }
}
