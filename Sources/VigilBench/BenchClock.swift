import Dispatch
import Foundation
import Synchronization
import VigilConcurrency

/// The benchmarks' clock, and how they pace, sample and bound what they wait for. Every
/// wait here is on a thread the bench itself owns (the command's thread), never on a shared
/// Dispatch thread, so a waiting bench cannot hold up the service it measures.
enum BenchClock {
    /// How long a bench waits for a step with no bound of its own (filling a log, a router's
    /// pass over it, a replay): an hour, which only a stuck store exceeds.
    static let patience = 3600.0

    /// Nanoseconds of uptime: what every bench measures with.
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Seconds from `start` (nanoseconds of uptime) to now.
    static func seconds(since start: UInt64) -> Double { Double(now() - start) / 1e9 }

    /// Sleeps until `due` (nanoseconds of uptime), at once when it has passed: the pacing of
    /// a steady-rate load, which sleeps between sends instead of spinning.
    static func sleep(until due: UInt64) {
        let current = now()
        if due > current { Thread.sleep(forTimeInterval: Double(due - current) / 1e9) }
    }

    /// Checks `condition` every `interval` seconds until it holds; throws `failure` once
    /// `seconds` have passed without it. For states that announce no event (a position in
    /// the store, a replay's state, receipts gathered by the sink), where a bench samples;
    /// the interval is the sampling, not part of what is measured unless a caller times the
    /// wait itself.
    static func wait(
        upTo seconds: Double, every interval: Double, failure: @autoclosure () -> String, until condition: () throws -> Bool
    ) throws {
        let deadline = now() + UInt64(seconds * 1e9)
        while try !condition() {
            guard now() < deadline else { throw BenchmarkFailure(description: failure()) }
            Thread.sleep(forTimeInterval: interval)
        }
    }

    /// Runs `operation(0)` … `operation(count - 1)` in order, at most `limit` in flight: each
    /// one that ends (by calling the closure it was given, from any thread) starts the next,
    /// as a pool's send slots do. Returns when all have ended, or `false` when they have not
    /// after `timeout` seconds. The next operation starts on a serial queue of its own, never
    /// inside the completion that freed its slot (which may run on the log's own thread).
    static func inFlight(
        _ count: Int, limit: Int, timeout: Double, _ operation: @escaping @Sendable (_ index: Int, _ ended: @escaping @Sendable () -> Void) -> Void
    ) -> Bool {
        let starter = DispatchQueue(label: "vigil.bench.in-flight")
        let ended = DispatchGroup()
        let next = Mutex(0)
        // Enters the group for the operation it starts; the group is left only after the
        // next has been started, so it cannot empty while operations remain.
        @Sendable func startNext() {
            guard let index = next.withLock({ n -> Int? in
                guard n < count else { return nil }
                defer { n += 1 }
                return n
            }) else { return }
            ended.enter()
            operation(index) {
                starter.async {
                    startNext()
                    ended.leave()
                }
            }
        }
        starter.sync { for _ in 0..<max(1, limit) { startNext() } }
        return BlockingPool.wait(for: ended, timeout: timeout)
    }
}
