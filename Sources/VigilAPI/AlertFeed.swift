import VigilCore
import VigilCrypto
import VigilDelivery

/// Alerts as an Atom feed (issue 21): which alerts a feed lists, each redacted to the
/// reader's clearance and written as an entry whose title is the email's subject and whose
/// content is the email's text (handling instructions first, case status among the rows),
/// in the reader's language; and the `ETag` that lets a reader ask again cheaply.
enum AlertFeed {
    /// Most entries a feed lists.
    static let maxEntries = 100
    /// How many of a subscriber's newest routed alerts a `?country=` feed looks through.
    static let countryScan = 1000
    /// Most routing views one log query reads while a token's feed looks back through time.
    static let windowCap = 2000

    /// What a feed is about: who reads it, at which clearance, in which language, and where
    /// its links lead.
    struct Reader {
        /// The feed's `urn:` id.
        let feedID: String
        /// The feed's title.
        let title: String
        /// The feed's own URL (its `self` link).
        let selfURL: String
        /// The clearance every entry is redacted to.
        let clearance: Confidentiality
        /// The language of titles and content (a subscriber's; English for a token).
        let language: String
        /// The CAP form of an alert, by id.
        let capURL: (String) -> String
    }

    /// The feed of `alerts` (newest first) for `reader`.
    static func document(_ alerts: [StoredAlert], for reader: Reader, now: Timestamp = .now()) -> AtomFeed {
        let entries = alerts.map { entry($0.alert.redacted(for: reader.clearance, language: reader.language), reader: reader) }
        return AtomFeed(
            id: reader.feedID, title: reader.title, updated: alerts.map(\.alert.receivedAt).max() ?? now,
            links: [AtomFeed.Link(href: reader.selfURL, rel: "self", type: "application/atom+xml")], entries: entries)
    }

    /// One entry of `alert`, already redacted for `reader`.
    static func entry(_ alert: Alert, reader: Reader) -> AtomEntry {
        let email = AlertEmail.message(alert: alert, to: "", language: reader.language, deliveryID: "", from: "")
        // The email's text without its signature (which names a delivery id a feed has not got).
        var content = email.text
        if let signature = content.range(of: "\n-- \n", options: .backwards) { content = String(content[..<signature.lowerBound]) + "\n" }
        var categories = [
            AtomEntry.Category(term: alert.country.code, scheme: "urn:iso:std:iso:3166:-1", label: alert.country.name),
            AtomEntry.Category(term: alert.threat.rawValue, scheme: "urn:vigil:threat"),
            AtomEntry.Category(term: alert.severity.rawValue, scheme: "urn:vigil:severity"),
            AtomEntry.Category(term: alert.kind.rawValue, scheme: "urn:vigil:kind"),
            AtomEntry.Category(term: alert.status.rawValue, scheme: "urn:vigil:status"),
        ]
        if let status = alert.caseStatus { categories.append(AtomEntry.Category(term: status.rawValue, scheme: "urn:vigil:case-status")) }
        if let handling = alert.handling {
            for (flag, set) in [
                ("no_public_statement", handling.noPublicStatement), ("no_contact_with_authorities", handling.noContactWithAuthorities),
                ("no_contact_with_defender", handling.noContactWithDefender),
            ] where set {
                categories.append(AtomEntry.Category(term: flag, scheme: "urn:vigil:handling"))
            }
        }
        return AtomEntry(
            id: "urn:vigil:alert:\(alert.id)", title: email.subject, updated: alert.receivedAt, summary: alert.summary, content: content,
            categories: categories, links: [AtomFeed.Link(href: reader.capURL(alert.id), rel: "alternate", type: "application/cap+xml")])
    }

    /// A strong `ETag` for a feed of the alerts `ids` at `clearance` in `language`: it changes
    /// when the list or what is redacted from it changes.
    static func etag(ids: [String], clearance: Confidentiality, language: String) -> String {
        "\"" + String(SHA256.hex(([clearance.rawValue, language] + ids).joined(separator: "\n")).prefix(32)) + "\""
    }

    /// Whether an `If-None-Match` header names `etag` (or is `*`); weak tags compare by their value.
    static func matches(_ ifNoneMatch: String?, _ etag: String) -> Bool {
        guard let ifNoneMatch, ifNoneMatch.utf8.count <= 8192 else { return false }
        return ifNoneMatch.split(separator: ",").contains { part in
            var tag = part.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag == etag
        }
    }

    /// The alerts of `ids` (newest first) as the log holds them, keeping their order,
    /// those of `country` only when given, at most `maxEntries`.
    static func alerts(_ ids: [String], country: CountryCode?, in log: any AlertLog) throws -> [StoredAlert] {
        var found: [StoredAlert] = []
        for id in ids where found.count < maxEntries {
            guard let stored = try log.alert(id: id) else { continue }
            if let country, stored.alert.country != country { continue }
            found.append(stored)
        }
        return found
    }

    /// The ids of the newest `limit` alerts of the log (of `country` when given), newest
    /// first. Offsets on Kafka sort partition by partition, so this looks back through
    /// reception time: windows from an hour to twice as long each step, a window that holds
    /// more than `windowCap` alerts split in halves, newer half first.
    static func newestIDs(
        limit: Int, country: CountryCode?, in log: any AlertLog, now: Timestamp = .now(), windowCap: Int = AlertFeed.windowCap
    ) throws -> [String] {
        var found: [String] = []
        func collect(since: Int64, until: Int64, depth: Int) throws {
            guard found.count < limit else { return }
            let views = try log.routingViews(
                matching: AlertQuery(since: Timestamp(milliseconds: since), until: Timestamp(milliseconds: until), country: country, limit: windowCap))
            if views.count >= windowCap && until - since > 1 && depth < 48 {
                let middle = since + (until - since) / 2
                try collect(since: middle, until: until, depth: depth + 1)
                try collect(since: since, until: middle, depth: depth + 1)
                return
            }
            let newest = views.map(\.alert).sorted { ($0.receivedAt, $0.id) > ($1.receivedAt, $1.id) }
            for alert in newest where found.count < limit { found.append(alert.id) }
        }
        var until = now.adding(milliseconds: 60_000).milliseconds
        var span: Int64 = 3_600_000
        while found.count < limit && until > 0 {
            let since = max(0, until - span)
            try collect(since: since, until: until, depth: 0)
            until = since
            span = span > Int64.max / 4 ? span : span * 2
        }
        return found
    }
}
