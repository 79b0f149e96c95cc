import Testing

/// Every defender name the end-to-end suite files. Each `ServiceProcess` scans its own log
/// for all of them when it is stopped, so the whole suite proves that no identity reaches a
/// log line (issue 5, hygiene).
public enum DefenderNames {
    public static let all = [
        "Delivered Defender", "E2E Defender", "CLI Defender", "Routed Defender", "Case Defender",
        "Yelena Dubrovskaya", "Tomas Okonkwo-Reyes", "Ilse Vandermeulen",
    ]

    /// Records a test issue for each name found in `logs`.
    public static func scan(_ logs: String, source: String) {
        for name in all where logs.contains(name) {
            Issue.record("the defender name '\(name)' appears in \(source)")
        }
    }
}
