/// How closely a defender's identity must be held; also the clearance of a reader.
///
/// A reader sees the identity fields of an alert only when its clearance is at or above
/// the alert's confidentiality.
public enum Confidentiality: String, Vocabulary, Comparable {
    case `public`, restricted, confidential

    /// Rank used for ordering: `public` is 0, `confidential` is 2.
    public var rank: Int {
        switch self {
        case .public: 0
        case .restricted: 1
        case .confidential: 2
        }
    }

    public static func < (lhs: Confidentiality, rhs: Confidentiality) -> Bool { lhs.rank < rhs.rank }

    /// Whether a reader with this clearance may see the identity in an alert of `level`.
    public func clears(_ level: Confidentiality) -> Bool { self >= level }
}
