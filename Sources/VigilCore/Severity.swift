/// How grave an alert is; ordered so that a subscription can ask for "high or above".
///
/// The four levels map onto CAP 1.2 severities: critical = Extreme, high = Severe,
/// medium = Moderate, low = Minor.
public enum Severity: String, Vocabulary, Comparable {
    case low, medium, high, critical

    /// Rank used for ordering: `low` is 0, `critical` is 3.
    public var rank: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .high: 2
        case .critical: 3
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}
