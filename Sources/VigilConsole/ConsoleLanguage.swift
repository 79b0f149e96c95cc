import Foundation

/// The languages of the console (issue 20): English, French and Dutch on every page, and
/// Spanish and Russian, the languages of many filers, on the partner pages.
public enum ConsoleLanguage: String, Sendable, CaseIterable {
    case en, fr, nl, es, ru

    /// The languages every page speaks.
    public static let everywhere: [ConsoleLanguage] = [.en, .fr, .nl]

    /// Whether every page (not only the partner pages) is written in this language.
    public var isEverywhere: Bool { Self.everywhere.contains(self) }

    /// The page's language: the account's when it has one, else the first of `Accept-Language`
    /// the console speaks, else English. Off the partner pages, Spanish and Russian fall back
    /// to English, which every reader of those pages has.
    public static func negotiate(account: String?, acceptLanguage: String?, partnerPage: Bool) -> ConsoleLanguage {
        let usable: (ConsoleLanguage) -> Bool = { partnerPage || $0.isEverywhere }
        if let account, let language = ConsoleLanguage(tag: account) { return usable(language) ? language : .en }
        for tag in preferred(acceptLanguage ?? "") {
            if let language = ConsoleLanguage(tag: tag), usable(language) { return language }
        }
        return .en
    }

    /// The language of a tag such as `fr-BE` or `NL`, if the console speaks it.
    public init?(tag: String) {
        let primary = tag.split(separator: "-").first.map { $0.lowercased() } ?? ""
        self.init(rawValue: primary)
    }

    /// The tags of an `Accept-Language` header, most preferred first (q=0 dropped); at most
    /// 16 are read and a malformed weight counts as 0, so the header cannot cost much.
    static func preferred(_ header: String) -> [String] {
        var weighted: [(tag: String, q: Double, index: Int)] = []
        for (index, part) in header.split(separator: ",").prefix(16).enumerated() {
            let pieces = part.split(separator: ";")
            guard let tag = pieces.first?.trimmingCharacters(in: .whitespaces), !tag.isEmpty, tag.count <= 35 else { continue }
            var q = 1.0
            for piece in pieces.dropFirst() {
                let trimmed = piece.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("q=") { q = Double(trimmed.dropFirst(2)).flatMap { (0...1).contains($0) ? $0 : nil } ?? 0 }
            }
            if q > 0 { weighted.append((tag, q, index)) }
        }
        return weighted.sorted { ($0.q, -$0.index) > ($1.q, -$1.index) }.map(\.tag)
    }
}
