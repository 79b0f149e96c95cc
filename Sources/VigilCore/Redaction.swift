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
    ///
    /// Characters are compared lower-cased, in Swift: every append seals an alert through
    /// here, and Foundation's case-insensitive search bridged through NSString per position.
    static func scrub(_ name: String, from text: String, mark: String) -> String {
        guard !name.isEmpty, name != RedactionMark.redacted, name != RedactionMark.erased else { return text }
        let parts = ([name] + name.split(whereSeparator: { $0 == " " || $0 == "-" }).map(String.init).filter { $0.count >= 3 })
            .sorted { $0.count > $1.count }
        if name.utf8.allSatisfy({ $0 < 0x80 }) && text.utf8.allSatisfy({ $0 < 0x80 }) {
            // ASCII, the common case: compare bytes folded to lower case.
            func fold(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
            let scrubbed = replacing(parts.map { $0.utf8.map(fold) }, in: Array(text.utf8), folded: text.utf8.map(fold), with: Array(mark.utf8))
            return String(decoding: scrubbed, as: UTF8.self)
        }
        let original = Array(text)
        return String(replacing(parts.map { $0.map { $0.lowercased() } }, in: original, folded: original.map { $0.lowercased() }, with: Array(mark)))
    }

    /// `original` with every occurrence of a part (matched in `folded`, the lower-cased
    /// `original`, earlier parts first) replaced by `mark`, scanning left to right once.
    private static func replacing<Unit, Folded: Equatable>(_ parts: [[Folded]], in original: [Unit], folded: [Folded], with mark: [Unit]) -> [Unit] {
        var result: [Unit] = []
        result.reserveCapacity(original.count)
        var index = 0
        scanning: while index < folded.count {
            for part in parts where !part.isEmpty && index + part.count <= folded.count && folded[index] == part[0] {
                if folded[index..<(index + part.count)].elementsEqual(part) {
                    result += mark
                    index += part.count
                    continue scanning
                }
            }
            result.append(original[index])
            index += 1
        }
        return result
    }
}
