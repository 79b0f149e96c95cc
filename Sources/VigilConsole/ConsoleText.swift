import Foundation

/// The console's words in one language (issue 20). Every key has English, French and Dutch;
/// the keys of the partner pages (filing, following an alert or case, signing in, the
/// vocabularies) also have Spanish and Russian. A missing translation falls back to English,
/// and `ConsoleTextTests` fails the build's tests when one is missing.
public struct ConsoleText: Sendable {
    /// The language these words are in.
    public let language: ConsoleLanguage

    /// The words in `language`.
    public init(_ language: ConsoleLanguage) { self.language = language }

    /// The text of `key` in this language (English when it has none; the key itself when unknown).
    public subscript(_ key: String) -> String {
        guard let entry = Self.catalogue[key] else { return key }
        let index = ConsoleLanguage.allCases.firstIndex(of: language) ?? 0
        return index < entry.count && !entry[index].isEmpty ? entry[index] : entry[0]
    }

    /// The label of a vocabulary word (`threat.arrest`), or the word with underscores as spaces.
    public func word(_ vocabulary: String, _ value: String) -> String {
        let key = vocabulary + "." + value
        return Self.catalogue[key] != nil ? self[key] : value.replacingOccurrences(of: "_", with: " ")
    }

    /// The key prefixes of the partner pages' texts (signing in, filing, alerts, cases, and
    /// every vocabulary), which need all five languages; the rest need English, French and Dutch.
    static let partnerPrefixes: Set<String> = [
        "common", "nav", "refused", "missing", "login", "invite", "file", "handling", "alerts", "alert", "timeline", "board", "case", "threat", "severity",
        "urgency", "certainty", "confidentiality", "group", "kind", "alertkind", "status", "casestatus", "action", "role", "channel", "state",
        "followup", "event",
    ]

    /// Every key with its texts, in the order of `ConsoleLanguage.allCases`: en, fr, nl, es, ru.
    static var catalogue: [String: [String]] { ConsoleCatalogue.entries }
}
