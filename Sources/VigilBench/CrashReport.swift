import Foundation

/// What `vigil bench crash` found: the run's shape, its tally and its restart times; printed
/// as a table or, with `--json`, as one JSON object.
public struct CrashReport: Sendable {
    /// `embedded` or `kafka`.
    public let backend: String
    /// SIGKILLs sent.
    public let kills: Int
    /// The seed of the kill schedule.
    public let seed: UInt64
    /// Alerts per second filed.
    public let rate: Double
    /// Seconds between a process being ready and the next kill, lowest and highest.
    public let pause: ClosedRange<Double>
    /// Kills per role (`serve` on the embedded backend).
    public let killsByRole: [String: Int]
    /// Seconds from each restart to `/readyz` 200.
    public let restartSeconds: [Double]
    /// Seconds waited after the last restart for deliveries to settle.
    public let settleSeconds: Double
    /// Answers other than `202` while filing.
    public let refused: Int
    /// The tally.
    public let tally: CrashTally
    /// The endpoints and mailboxes the run delivered to.
    public let endpoints: [String]
    /// The run's data directories and service logs, kept when it found a fault.
    public let keptDataDir: String?

    /// The longest restart-to-ready, in seconds (0 with no restart).
    public var longestRestart: Double { restartSeconds.max() ?? 0 }

    /// The median restart-to-ready, in seconds (0 with no restart).
    public var medianRestart: Double {
        let sorted = restartSeconds.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// The table `vigil bench crash` prints.
    public var text: String {
        let t = tally
        let roles = killsByRole.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        var lines = [
            "vigil bench crash — \(backend) backend, \(kills) SIGKILLs (seed \(seed); \(roles)) \(pause.lowerBound)–\(pause.upperBound) s after ready, \(Int(rate)) alerts/s, \(ProcessInfo.processInfo.activeProcessorCount) cores",
            "endpoints: \(endpoints.joined(separator: ", "))",
        ]
        func row(_ name: String, _ value: Int, _ note: String = "") {
            lines.append(name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(value).leftPadded(8) + (note.isEmpty ? "" : "  " + note))
        }
        row("alerts acknowledged (202)", t.acknowledged, refused > 0 ? "\(refused) other answers while filing" : "")
        row("alerts lost (202'd, not readable after)", t.lost.count, t.lost.isEmpty ? "" : "first: \(t.lost.prefix(5).joined(separator: ", "))")
        row("deliveries expected", t.expected, "acknowledged alerts × matching endpoints")
        row("deliveries made", t.made)
        row("deliveries missing", t.missing, String(format: "after %.0f s of settling", settleSeconds))
        row("duplicates (same alert, same endpoint)", t.duplicates, t.duplicatesUnderSecondID == 0 ? "all under their first delivery id" : "")
        row("  alert-endpoint pairs under a second id", t.duplicatesUnderSecondID)
        row("strays (acknowledged alert, wrong endpoint)", t.strays)
        row("receipts of never-acknowledged alerts", t.unacknowledgedReceipts, "cut off by a kill after the append: allowed")
        lines.append(String(format: "restart → ready (/readyz 200): longest %.0f ms, median %.0f ms over %d restarts", longestRestart * 1000, medianRestart * 1000, restartSeconds.count))
        lines.append(t.isSound ? "result: sound" : "result: FAULT; data directories and service logs kept in \(keptDataDir ?? "?")")
        return lines.joined(separator: "\n")
    }

    /// The report as JSON fields, for `--json`.
    public var json: JSON {
        JSON(
            backend: backend, kills: kills, seed: seed, pause_seconds: [pause.lowerBound, pause.upperBound], rate_per_second: rate, kills_by_role: killsByRole, endpoints: endpoints,
            alerts_acknowledged: tally.acknowledged, alerts_lost: tally.lost.count, lost_alert_ids: Array(tally.lost.prefix(100)),
            deliveries_expected: tally.expected, deliveries_made: tally.made, deliveries_missing: tally.missing,
            duplicates: tally.duplicates, duplicates_under_second_id: tally.duplicatesUnderSecondID, strays: tally.strays,
            unacknowledged_receipts: tally.unacknowledgedReceipts, refused_while_filing: refused, settle_seconds: (settleSeconds * 10).rounded() / 10,
            restart_to_ready_longest_ms: (longestRestart * 10_000).rounded() / 10, restart_to_ready_median_ms: (medianRestart * 10_000).rounded() / 10,
            sound: tally.isSound)
    }

    /// The JSON shape of a report.
    public struct JSON: Encodable, Sendable {
        let backend: String, kills: Int, seed: UInt64, pause_seconds: [Double], rate_per_second: Double, kills_by_role: [String: Int], endpoints: [String]
        let alerts_acknowledged: Int, alerts_lost: Int, lost_alert_ids: [String]
        let deliveries_expected: Int, deliveries_made: Int, deliveries_missing: Int
        let duplicates: Int, duplicates_under_second_id: Int, strays: Int, unacknowledged_receipts: Int, refused_while_filing: Int, settle_seconds: Double
        let restart_to_ready_longest_ms: Double, restart_to_ready_median_ms: Double, sound: Bool
    }
}

extension String {
    /// Right-aligned in `width` columns.
    fileprivate func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
