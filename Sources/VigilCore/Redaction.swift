/// What a reader sees in place of an identity field it may not read.
public enum RedactionMark {
    /// The reader's clearance is below the alert's confidentiality.
    public static let redacted = "[redacted]"
    /// The alert's data key was erased; nobody can read the identity any more.
    public static let erased = "[erased]"
}

extension Alert {
    /// The alert as a reader with `clearance` may see it; unchanged when the clearance is at
    /// or above the alert's confidentiality.
    ///
    /// The one redaction function for API reads, webhook bodies and emails. Below
    /// clearance: the defender's name, organisation and role and the region read
    /// `[redacted]`; links and tags are empty; the summary is the filer's `summary_public`,
    /// scrubbed of the defender's name, organisation and role (whole, and each part of two
    /// letters or more) as a second line of defence, or, without one (or once erased), the
    /// fixed withheld text in `language` (the alert's own language by default; emails and webhooks
    /// pass their subscriber's). `summary_public` itself is left out, as `summary` carries it.
    public func redacted(for clearance: Confidentiality, language: String? = nil) -> Alert {
        guard !clearance.clears(confidentiality) else { return self }
        let mark = RedactionMark.redacted
        var copy = self
        copy.defender.name = mark
        if copy.defender.organisation != nil { copy.defender.organisation = mark }
        if copy.defender.role != nil { copy.defender.role = mark }
        if copy.region != nil { copy.region = mark }
        copy.links = []
        copy.tags = []
        copy.summaryPublic = nil
        // The instructions themselves are for every recipient; their free text is not.
        if copy.handling?.note != nil { copy.handling?.note = mark }
        if copy.nextEvent?.place != nil { copy.nextEvent?.place = mark }
        if let text = summaryPublic, text != RedactionMark.erased, defender.name != RedactionMark.erased {
            copy.summary = Alert.scrub([defender.name, defender.organisation, defender.role].compactMap { $0 }, from: text, mark: mark)
        } else {
            let chosen = WithheldSummary.language(for: language ?? self.language)
            copy.summary = WithheldSummary.text(for: chosen)
            copy.language = chosen
        }
        return copy
    }

    /// The words `terms` would remove from text: each term whole, each run of it between
    /// white space ("O'Brien", "Jean-Luc"), and each of its parts of two or more
    /// characters, a part being what lies between characters that are neither letters nor
    /// digits (any Unicode white space, no-break and thin spaces included, and any
    /// punctuation: hyphens, apostrophes, dots, commas…); longest first.
    static func scrubWords(_ terms: [String]) -> [String] {
        var words = Set<String>()
        for term in terms {
            guard term.contains(where: Alert.isWordCharacter), term != RedactionMark.redacted, term != RedactionMark.erased else { continue }
            words.insert(term)
            // "O'Brien" and "Jean-Luc" whole, then "Brien", "Jean" and "Luc".
            for token in term.split(whereSeparator: \.isWhitespace) where token.count >= 2 && token.contains(where: Alert.isWordCharacter) {
                words.insert(String(token))
            }
            for part in term.split(whereSeparator: { !Alert.isWordCharacter($0) }) where part.count >= 2 { words.insert(String(part)) }
        }
        return words.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    }

    /// Letters and digits make words; everything else separates them.
    static func isWordCharacter(_ character: Character) -> Bool { character.isLetter || character.isNumber }

    /// `text` with every occurrence of the `terms` (see `scrubWords`) replaced by `mark`,
    /// ignoring case, as whole words only: an occurrence counts when it is not preceded or
    /// followed by a letter or digit, so "Al" is removed from "Al was seen" but not from
    /// "Alarm". One pass over the original text, longest word first, so the marks it
    /// inserts are never scanned again (a name like "Ted" occurs inside "[redacted]").
    ///
    /// Text and terms in ASCII are compared byte by byte; anything else Character by
    /// Character, lower-cased (so canonically equivalent spellings match too).
    public static func scrub(_ terms: [String], from text: String, mark: String) -> String {
        let words = scrubWords(terms)
        guard !words.isEmpty, !text.isEmpty else { return text }
        if text.utf8.allSatisfy({ $0 < 0x80 }) && words.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }) {
            func fold(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
            func isWord(_ byte: UInt8) -> Bool {
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            }
            let original = Array(text.utf8)
            let scrubbed = replacing(
                words.map { $0.utf8.map(fold) }, in: original, folded: original.map(fold), isWord: original.map(isWord),
                wordEdges: words.map { (isWord($0.utf8.first!), isWord($0.utf8.last!)) }, with: Array(mark.utf8))
            return String(decoding: scrubbed, as: UTF8.self)
        }
        let original = Array(text)
        let scrubbed = replacing(
            words.map { $0.map { $0.lowercased() } }, in: original, folded: original.map { $0.lowercased() }, isWord: original.map(isWordCharacter),
            wordEdges: words.map { (isWordCharacter($0.first!), isWordCharacter($0.last!)) }, with: Array(mark))
        return String(scrubbed)
    }

    /// `original` with every whole-word occurrence of a word (matched in `folded`, the
    /// lower-cased `original`, earlier words first) replaced by `mark`, scanning left to
    /// right once. `isWord` tells which units of `original` are letters or digits;
    /// `wordEdges` whether each word starts and ends with one (only such an edge needs a
    /// boundary beside it).
    private static func replacing<Unit, Folded: Equatable>(
        _ words: [[Folded]], in original: [Unit], folded: [Folded], isWord: [Bool], wordEdges: [(Bool, Bool)], with mark: [Unit]
    ) -> [Unit] {
        var result: [Unit] = []
        result.reserveCapacity(original.count)
        var index = 0
        scanning: while index < folded.count {
            let boundaryBefore = index == 0 || !isWord[index - 1]
            for (number, word) in words.enumerated() where !word.isEmpty && word.count <= folded.count - index && folded[index] == word[0] {
                let end = index + word.count
                guard boundaryBefore || !wordEdges[number].0, end == folded.count || !isWord[end] || !wordEdges[number].1 else { continue }
                if folded[index..<end].elementsEqual(word) {
                    result += mark
                    index = end
                    continue scanning
                }
            }
            result.append(original[index])
            index += 1
        }
        return result
    }
}
