import Foundation

/// The OASIS CAP 1.2 form of one alert, as one reader may see it (DESIGN §13, README "CAP 1.2").
///
/// A pure function of the alert, the ids of its case's earlier alerts, the reader's clearance
/// and the service's public URL: the API answers it to `Accept: application/cap+xml` and a feed
/// can link to it, and both give the same bytes for the same inputs. Identity fields are
/// redacted here, with `Alert.redacted(for:)`, before anything is written.
///
/// `sender` is `vigil@<host of public_url>`: Vigil assigns the identifiers, so Vigil is the
/// originator CAP's `sender` must name uniquely, and the triples in `references` then name the
/// same sender as the documents they point at. The filing organisation is in `senderName`.
public struct CAPDocument: Sendable, Equatable {
    /// The CAP 1.2 namespace, on the root `alert`.
    public static let namespace = "urn:oasis:names:tc:emergency:cap:1.2"
    /// The media type of a CAP document, for `Accept` and `Content-Type`.
    public static let mediaType = "application/cap+xml"

    /// The alert as the reader may see it.
    public let alert: Alert
    /// Whether `alert` was redacted for the reader (their clearance is below its confidentiality).
    public let isRedacted: Bool
    /// The reader's clearance.
    public let clearance: Confidentiality
    /// The case's alerts before this one, by id, oldest first; with the case id, what an
    /// update's or cancel's `references` names.
    public let earlierAlertIDs: [String]
    /// The base of the console's pages, without a trailing slash.
    public let publicURL: String

    /// The CAP form of `alert` for a reader with `clearance`; `earlierAlertIDs` are the ids of
    /// the alerts of its case filed before it (ignored for a first alert); `publicURL` is the
    /// service's `public_url`.
    public init(alert: Alert, earlierAlertIDs: [String] = [], clearance: Confidentiality, publicURL: String) {
        self.alert = alert.redacted(for: clearance)
        isRedacted = !clearance.clears(alert.confidentiality)
        self.clearance = clearance
        self.earlierAlertIDs = earlierAlertIDs
        var base = publicURL
        while base.hasSuffix("/") { base.removeLast() }
        self.publicURL = base
    }

    /// `vigil@<host>`, the host of `publicURL` (only letters, digits, `.`, `-` and `:` kept, as
    /// CAP's `sender` may hold no spaces, commas, `<` or `&`); `vigil@vigil.invalid` without one.
    public static func sender(publicURL: String) -> String {
        let host = URL(string: publicURL)?.host ?? ""
        let kept = String(host.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-:".unicodeScalars.contains($0)) })
        return "vigil@" + (kept.isEmpty ? "vigil.invalid" : kept)
    }

    /// `time` in CAP's form, `2026-11-21T22:00:00+00:00`: whole seconds in UTC with a numeric
    /// offset, as the CAP 1.2 schema's pattern demands (no `Z`, no fraction).
    public static func capTime(_ time: Timestamp) -> String { String(time.description.prefix(19)) + "+00:00" }

    /// This document's `sender`.
    public var sender: String { CAPDocument.sender(publicURL: publicURL) }

    /// `references` of an update or cancel: `sender,identifier,sent` for the case's first
    /// alert and every earlier alert of the case, space-separated, oldest first; `nil` for a
    /// first alert. An alert's `sent` is the time its ULID carries (its reception time).
    public var references: String? {
        guard alert.kind != .alert else { return nil }
        var ids = [alert.caseID]
        for id in earlierAlertIDs where id != alert.id && !ids.contains(id) { ids.append(id) }
        let triples: [(Timestamp, String)] = ids.compactMap { id in
            guard id != alert.id, let ulid = ULID(id) else { return nil }
            return (ulid.time, "\(sender),\(ulid.description),\(CAPDocument.capTime(ulid.time))")
        }
        guard !triples.isEmpty else { return nil }
        return triples.sorted { $0.0 < $1.0 }.map(\.1).joined(separator: " ")
    }

    /// Like an email's subject, in English: `[CRITICAL] Belarus — arrest: <start of the summary>`,
    /// `[EXERCISE]` before it for a drill, `UPDATE:` or `CANCELLED:` after the severity.
    public var headline: String {
        var prefix = "[\(alert.severity.rawValue.uppercased())]"
        if alert.status == .exercise { prefix = "[EXERCISE] " + prefix }
        if alert.status == .test { prefix = "[TEST] " + prefix }
        if alert.kind == .update { prefix += " UPDATE:" }
        if alert.kind == .cancel { prefix += " CANCELLED:" }
        return "\(prefix) \(alert.country.name) — \(CAPVocabulary.event(alert.threat)): \(CAPDocument.summaryStart(alert.summary))"
    }

    /// The filer's handling instructions in English words, one line each (the note as the
    /// reader may see it); `nil` without instructions.
    public var instruction: String? {
        guard let handling = alert.handling, !handling.isEmpty else { return nil }
        var lines: [String] = []
        if handling.noPublicStatement { lines.append("No public statement about the defender.") }
        if handling.noContactWithAuthorities { lines.append("No contact with the authorities about the defender.") }
        if handling.noContactWithDefender { lines.append("No contact with the defender.") }
        let excluded = handling.excludeKinds.map { $0.rawValue.replacingOccurrences(of: "_", with: " ") } + handling.excludeSubscribers
        if !excluded.isEmpty { lines.append("Not to be shared with: \(excluded.joined(separator: ", ")).") }
        if let note = handling.note { lines.append("Note from the filer: \(note)") }
        return lines.joined(separator: "\n")
    }

    /// `restriction`: the alert's confidentiality, in a word Vigil reads back, and what it means.
    public var restriction: String {
        let level = alert.confidentiality.rawValue
        return switch alert.confidentiality {
        case .public: "Vigil confidentiality \(level): the defender's identity may be shown to every reader of Vigil's alerts."
        default: "Vigil confidentiality \(level): the defender's identity is shown only to readers cleared for \(level) or above."
        }
    }

    /// The console's page of the alert, `{public_url}/console/alerts/{id}`.
    public var web: String { "\(publicURL)/console/alerts/\(alert.id)" }

    /// `area`'s `areaDesc`: the country's name, then the region when the reader may see it.
    public var areaDescription: String {
        guard let region = alert.region, region != RedactionMark.redacted, region != RedactionMark.erased else { return alert.country.name }
        return "\(alert.country.name) — \(region)"
    }

    /// The document, UTF-8, valid against the OASIS CAP 1.2 schema.
    public var bytes: [UInt8] {
        var w = XMLWriter()
        w.begin("alert", namespace: CAPDocument.namespace)
        w.element("identifier", alert.id)
        w.element("sender", sender)
        w.element("sent", CAPDocument.capTime(alert.receivedAt))
        w.element("status", CAPVocabulary.capStatus(alert.status))
        w.element("msgType", CAPVocabulary.capMessageType(alert.kind))
        w.element("scope", "Restricted")
        w.element("restriction", restriction)
        var notes: [String] = []
        if alert.status == .exercise { notes.append("EXERCISE — this is a drill, not a real event.") }
        if alert.kind == .cancel { notes.append("CANCELLED — this case was filed in error.") }
        if isRedacted {
            notes.append("Redacted for a reader cleared for \(clearance.rawValue): the defender's identity and the filer's free text are withheld.")
        }
        if !notes.isEmpty { w.element("note", notes.joined(separator: " ")) }
        w.element("references", ifPresent: references)
        w.element("incidents", alert.caseID)
        w.begin("info")
        w.element("language", alert.language)
        w.element("category", "Safety")
        w.element("event", CAPVocabulary.event(alert.threat))
        w.element("urgency", CAPVocabulary.capUrgency(alert.urgency))
        w.element("severity", CAPVocabulary.capSeverity(alert.severity))
        w.element("certainty", CAPVocabulary.capCertainty(alert.certainty))
        w.element("onset", ifPresent: alert.occurredAt.map(CAPDocument.capTime))
        w.element("senderName", alert.source.organisation)
        w.element("headline", headline)
        w.element("description", alert.summary)
        w.element("instruction", ifPresent: instruction)
        w.element("web", web)
        var parameters = [("threat", alert.threat.rawValue), ("case_id", alert.caseID), ("confidentiality", alert.confidentiality.rawValue)]
        if let status = alert.caseStatus { parameters.append(("case_status", status.rawValue)) }
        for (name, value) in parameters {
            w.begin("parameter")
            w.element("valueName", name)
            w.element("value", value)
            w.end()
        }
        w.begin("area")
        w.element("areaDesc", areaDescription)
        w.begin("geocode")
        w.element("valueName", "ISO3166-1")
        w.element("value", alert.country.code)
        w.end()
        w.end()
        w.end()
        w.end()
        return w.bytes
    }

    /// The summary's first 60 characters, cut at a word boundary, with an ellipsis when cut
    /// (as in an email's subject).
    static func summaryStart(_ summary: String) -> String {
        let flat = summary.split(whereSeparator: \.isNewline).joined(separator: " ")
        guard flat.count > 60 else { return flat }
        var cut = flat.prefix(60)
        if let space = cut.lastIndex(of: " "), flat[cut.endIndex] != " " { cut = cut[..<space] }
        return cut.trimmingCharacters(in: .whitespaces.union(.punctuationCharacters)) + "…"
    }
}
