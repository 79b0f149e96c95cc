import Foundation

/// The mapping tables between Vigil's vocabularies and OASIS CAP 1.2's, both ways (README
/// "CAP 1.2"). One place, so the writer (`CAPDocument`) and the reader of filed CAP documents
/// can never disagree about what a word means.
public enum CAPVocabulary {
    /// CAP `severity` of a Vigil severity: low, medium, high, critical → Minor, Moderate,
    /// Severe, Extreme (DESIGN §5).
    public static func capSeverity(_ severity: Severity) -> String {
        switch severity {
        case .low: "Minor"
        case .medium: "Moderate"
        case .high: "Severe"
        case .critical: "Extreme"
        }
    }

    /// The Vigil severity of a CAP `severity`; `nil` for `Unknown` (Vigil routes on severity
    /// and has no unknown one) and for anything that is not a CAP 1.2 severity.
    public static func severity(cap word: String) -> Severity? {
        Severity.allCases.first { capSeverity($0) == word }
    }

    /// CAP `urgency` of a Vigil urgency: the same words, capitalised (`immediate` → `Immediate`).
    public static func capUrgency(_ urgency: Urgency) -> String { capitalised(urgency.rawValue) }

    /// The Vigil urgency of a CAP `urgency` (`Unknown` → `unknown`); `nil` for any other word.
    public static func urgency(cap word: String) -> Urgency? { Urgency.allCases.first { capUrgency($0) == word } }

    /// CAP `certainty` of a Vigil certainty: the same words, capitalised (`observed` → `Observed`).
    public static func capCertainty(_ certainty: Certainty) -> String { capitalised(certainty.rawValue) }

    /// The Vigil certainty of a CAP `certainty` (`Unknown` → `unknown`); `nil` for any other
    /// word, CAP 1.1's deprecated `Very Likely` included.
    public static func certainty(cap word: String) -> Certainty? { Certainty.allCases.first { capCertainty($0) == word } }

    /// CAP `status` of a Vigil status: actual, exercise, test → Actual, Exercise, Test.
    public static func capStatus(_ status: AlertStatus) -> String { capitalised(status.rawValue) }

    /// The Vigil status of a CAP `status`; `nil` for `System` and `Draft`, which Vigil does
    /// not file, and for any other word.
    public static func status(cap word: String) -> AlertStatus? { AlertStatus.allCases.first { capStatus($0) == word } }

    /// CAP `msgType` of a Vigil kind: alert, update, cancel → Alert, Update, Cancel.
    public static func capMessageType(_ kind: AlertKind) -> String { capitalised(kind.rawValue) }

    /// The Vigil kind of a CAP `msgType`; `nil` for `Ack` and `Error`, which are not alerts,
    /// and for any other word.
    public static func kind(cap word: String) -> AlertKind? { AlertKind.allCases.first { capMessageType($0) == word } }

    /// The threat in words, as CAP's `event` carries it: `travel_ban` → `travel ban`.
    public static func event(_ threat: Threat) -> String { threat.rawValue.replacingOccurrences(of: "_", with: " ") }

    /// The threat an `event` names: the words of `event(_:)`, in any case, with spaces,
    /// hyphens or underscores between them; `nil` when no threat has that name.
    public static func threat(event text: String) -> Threat? {
        let word = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            .split(whereSeparator: { $0 == " " || $0 == "-" || $0 == "_" }).joined(separator: "_")
        return Threat(rawValue: word)
    }

    /// `word` with its first letter upper-cased.
    static func capitalised(_ word: String) -> String { word.prefix(1).uppercased() + word.dropFirst() }
}
