import Synchronization

/// Data keys made ahead of use and handed out one at a time, oldest first, by the embedded
/// vault and the Kafka log alike: a key must be stored (committed, or acknowledged on
/// `vigil.keys`) before it seals anything, so keys are made and stored in batches, a
/// background refill starts when a quarter of a batch is left, and a caller that finds the
/// pool empty refills it itself. Oldest first matters: the embedded vault deletes, at start,
/// the keys numbered above every key its newest alerts used.
public final class DataKeyPool<ID: Sendable>: Sendable {
    /// A key and the id it is stored under.
    public typealias Key = (id: ID, key: [UInt8])

    private struct State {
        /// Keys not yet handed out start at `head`; the array is compacted now and then, so
        /// taking a key does not shift the whole pool.
        var keys: [Key] = []
        var head = 0
        var refilling = false
    }

    private let state = Mutex(State())
    private let lowWater: Int

    /// A pool refilled `batchSize` keys at a time.
    public init(batchSize: Int) { lowWater = batchSize / 4 }

    /// Adds stored keys, handed out after those already here.
    public func add(_ made: [Key]) { state.withLock { $0.keys += made } }

    /// The oldest key, after at most three refills of the caller's own; `nil` if even they
    /// left the pool empty. Calls `refillInBackground` (at most one at a time) when the pool
    /// runs low; that refill must end with `backgroundRefillEnded`.
    public func take<E: Error>(refillInBackground: () -> Void, refillNow: () throws(E) -> Void) throws(E) -> Key? {
        for _ in 0..<3 {
            let (taken, low) = state.withLock { state -> (Key?, Bool) in
                var taken: Key?
                if state.head < state.keys.count {
                    taken = state.keys[state.head]
                    state.head += 1
                    if state.head >= 256 && state.head * 2 >= state.keys.count {
                        state.keys.removeFirst(state.head)
                        state.head = 0
                    }
                }
                let low = state.keys.count - state.head < lowWater && !state.refilling
                if low { state.refilling = true }
                return (taken, low)
            }
            if low { refillInBackground() }
            if let taken { return taken }
            try refillNow()
        }
        return nil
    }

    /// Lets the next low pool start another background refill.
    public func backgroundRefillEnded() { state.withLock { $0.refilling = false } }
}
