import Foundation

/// What a reader sees in place of an identity field it may not read.
public enum RedactionMark {
    /// The reader's clearance is below the alert's confidentiality.
    public static let redacted = "[redacted]"
    /// The alert's data key was erased; nobody can read the identity any more.
    public static let erased = "[erased]"
}

extension Alert {
    /// The alert as a reader with `clearance` may see it: identity fields replaced by
    /// `[redacted]` when the clearance is below the alert's confidentiality.
    ///
    /// The one redaction function for API reads, webhook bodies and emails. Besides the
    /// defender's name, organisation and role, it scrubs the name (whole, and each part of
    /// three letters or more) from the summary and region, where filers sometimes repeat it.
    public func redacted(for clearance: Confidentiality) -> Alert {
        guard !clearance.clears(confidentiality) else { return self }
        return replacingIdentity(with: RedactionMark.redacted)
    }

    /// The alert with every identity field replaced by `mark`, and the defender's name
    /// scrubbed from free text.
    public func replacingIdentity(with mark: String) -> Alert {
        var copy = self
        let name = defender.name
        copy.defender.name = mark
        if copy.defender.organisation != nil { copy.defender.organisation = mark }
        if copy.defender.role != nil { copy.defender.role = mark }
        copy.summary = Alert.scrub(name, from: summary, mark: mark)
        if let region { copy.region = Alert.scrub(name, from: region, mark: mark) }
        return copy
    }

    /// Replaces `name` and each of its parts of three or more letters in `text`, ignoring
    /// case, in one pass over the original text (longest part first), so the marks it
    /// inserts are never scanned again: a name like "Ted" occurs inside "[redacted]".
    static func scrub(_ name: String, from text: String, mark: String) -> String {
        guard !name.isEmpty, name != RedactionMark.redacted, name != RedactionMark.erased else { return text }
        let parts = ([name] + name.split(whereSeparator: { $0 == " " || $0 == "-" }).map(String.init).filter { $0.count >= 3 })
            .sorted { $0.count > $1.count }
        var result = ""
        var index = text.startIndex
        scanning: while index < text.endIndex {
            for part in parts {
                if let range = text.range(of: part, options: [.caseInsensitive, .anchored], range: index..<text.endIndex) {
                    result += mark
                    index = range.upperBound
                    continue scanning
                }
            }
            result.append(text[index])
            index = text.index(after: index)
        }
        return result
    }
}
