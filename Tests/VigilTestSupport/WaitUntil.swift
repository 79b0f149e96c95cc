import Foundation
import VigilCore

/// Waits for `condition` to hold, checking every `interval` seconds, at most `within`
/// seconds and at most `within / interval + 1` times; answers whether it held. For tests
/// that wait on another thread's work: every wait is bounded in count and in time.
public func waitUntil(within seconds: Double = 10, interval: Double = 0.005, _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    let checks = Int(min(1_000_000, max(1, seconds / max(interval, 0.001)))) + 1
    for _ in 0..<checks {
        if try condition() { return true }
        if Date() >= deadline { break }
        try? await Task.sleep(nanoseconds: UInt64(max(interval, 0.001) * 1e9))
    }
    return try condition()
}

extension AlertLog {
    /// Appends `alert` and answers once the log has answered (durable or failed).
    public func appended(_ alert: Alert, idempotency: IdempotencyClaim? = nil) async -> Result<AppendReceipt, AlertLogError> {
        await withCheckedContinuation { continuation in
            append(alert, idempotency: idempotency) { continuation.resume(returning: $0) }
        }
    }
}
