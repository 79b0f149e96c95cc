import Foundation
import VigilCore

/// A CAP 1.2 alert filed to `POST /v1/alerts` as `application/cap+xml`, read into the fields
/// of Vigil's alert JSON (README "CAP 1.2" lists what is read, ignored and refused).
///
/// The JSON it makes is filed through `AlertFiling` like any JSON body, so validation,
/// idempotency and audit are the same; every problem is named by the CAP element it comes
/// from (`info[0].severity`, `info[0].area[0].geocode[0].value`), never by the JSON field.
/// CAP carries no defender, so the defender is given as `parameter`s named `defender.name`
/// (required, as in JSON), `defender.organisation`, `defender.role` and `defender.group`.
public struct CAPSubmission: Sendable {
    /// The alert's JSON fields as the document gives them, keyed by JSON path
    /// (`country`, `defender.name`, `handling.note`); values still unchecked.
    let fields: [String: String]
    /// Where each JSON field came from: its CAP element path.
    let paths: [String: String]
    /// Problems found in the CAP document itself, named by CAP element path.
    let problems: [FieldError]
    /// Whether the document is not a CAP 1.2 `alert` at all (then that is the only problem).
    let isForeign: Bool
    /// `msgType` as a Vigil kind.
    let kind: AlertKind?
    /// The identifiers named by `references`, for an update or cancel.
    let referencedIDs: [String]

    /// The parameters Vigil reads (valueName → JSON field); `case_id` is what Vigil writes and
    /// is ignored on the way in: the case comes from `references`.
    static let parameters: [String: String?] = [
        "threat": "threat", "confidentiality": "confidentiality", "case_status": "case_status", "summary_public": "summary_public",
        "defender.name": "defender.name", "defender.organisation": "defender.organisation", "defender.role": "defender.role",
        "defender.group": "defender.group", "case_id": nil,
    ]
    /// Elements of `alert` that are read, and those that are accepted but ignored.
    static let alertRead: Set<String> = ["status", "msgType", "scope", "references", "info"]
    static let alertIgnored: Set<String> = ["identifier", "sender", "sent", "source", "restriction", "code", "note", "incidents"]
    /// Elements of `info` that are read, and those that are accepted but ignored.
    static let infoRead: Set<String> = [
        "language", "event", "urgency", "severity", "certainty", "onset", "description", "instruction", "parameter", "area",
    ]
    static let infoIgnored: Set<String> = [
        "category", "responseType", "audience", "eventCode", "effective", "expires", "senderName", "headline", "web", "contact",
    ]
    /// Elements of `area` that are read, and those that are accepted but ignored
    /// (`polygon` and `circle` only beside an `ISO3166-1` geocode).
    static let areaRead: Set<String> = ["areaDesc", "geocode"]
    static let areaIgnored: Set<String> = ["polygon", "circle", "altitude", "ceiling"]
    /// The elements of a `parameter` or `geocode`.
    static let pairRead: Set<String> = ["valueName", "value"]
    /// Elements refused wherever they appear, and why.
    static let refused: [String: String] = [
        "addresses": "is refused: Vigil routes by country to its subscribers, not to addresses; leave addresses out",
        "resource": "is refused: Vigil files no attachments; put links in the description or leave resource out",
    ]
    /// Most triples `references` may name.
    static let maxReferences = 100
    /// The XML Signature namespace, whose `Signature` may follow the info block (ignored).
    static let signatureNamespace = "http://www.w3.org/2000/09/xmldsig#"

    /// The CAP path each JSON field is reported at when the document did not give it.
    static let defaultPaths: [String: String] = [
        "$": "alert", "kind": "msgType", "status": "status", "case_id": "references", "threat": "info[0].event",
        "severity": "info[0].severity", "urgency": "info[0].urgency", "certainty": "info[0].certainty",
        "country": "info[0].area[0].geocode", "region": "info[0].area[0].areaDesc", "summary": "info[0].description",
        "language": "info[0].language", "occurred_at": "info[0].onset", "handling": "info[0].instruction", "defender": "info[0].parameter",
        "confidentiality": "info[0].parameter", "case_status": "info[0].parameter", "summary_public": "info[0].parameter",
        "next_event": "info[0].parameter", "source": "alert",
    ]

    /// Reads `bytes` as a CAP 1.2 alert; throws when they cannot be read at all (not UTF-8,
    /// a DTD or entity, not well-formed, too deep or too many elements).
    public init(xml bytes: [UInt8]) throws(CAPRefusal) {
        let root = try CAPTreeReader.read(bytes)
        var reader = Reader()
        reader.read(root)
        fields = reader.fields
        paths = reader.paths
        problems = reader.problems
        isForeign = reader.isForeign
        kind = reader.kind
        referencedIDs = reader.referencedIDs
    }

    /// The alert JSON to file, with the case of the alerts `references` names (found with
    /// `caseOf`, which gives an alert's case id or `nil` when Vigil holds no such alert), and
    /// every problem with the CAP document so far.
    public func prepared(caseOf: (String) throws -> String?) rethrows -> (json: [UInt8], problems: [FieldError]) {
        var problems = self.problems
        var caseID: String?
        if let kind, kind != .alert, !referencedIDs.isEmpty {
            var cases: [String] = []
            for id in referencedIDs where ULID(id) != nil {
                if let found = try caseOf(id), !cases.contains(found) { cases.append(found) }
            }
            if cases.isEmpty {
                problems.append(FieldError(
                    "references", "names no alert Vigil holds; an \(kind.rawValue) must reference a Vigil alert of the case by its identifier"))
            } else if cases.count > 1 {
                problems.append(FieldError("references", "names alerts of \(cases.count) different cases; reference the alerts of one case"))
            } else {
                caseID = cases[0]
            }
        }
        return (json(caseID: caseID), problems)
    }

    /// Every problem of a document with CAP-level `problems`: those, then what JSON
    /// validation of `json` finds at elements not already named, for a filer to fix all in
    /// one round trip; `nil` when there are no CAP-level problems (filing validates then).
    public func failure(json: [UInt8], problems: [FieldError], organisation: String) -> ValidationFailure? {
        guard !problems.isEmpty else { return nil }
        guard !isForeign else { return ValidationFailure(problems) }
        var all = problems
        do throws(ValidationFailure) {
            let now = Timestamp.now()
            _ = try AlertSubmission(json: json).validate(id: ULID(time: now), receivedAt: now, organisation: organisation)
        } catch {
            for field in translated(error).fields where !all.contains(where: { $0.field == field.field }) { all.append(field) }
        }
        return ValidationFailure(all)
    }

    /// `failure` with each JSON field path replaced by the CAP element path it came from.
    public func translated(_ failure: ValidationFailure) -> ValidationFailure {
        ValidationFailure(failure.fields.map { FieldError(capPath($0.field), $0.message) })
    }

    /// The CAP element path of a JSON field path: where the document gave it, else where it
    /// belongs (the longest known prefix of a nested path), else `alert`.
    func capPath(_ field: String) -> String {
        var key = Substring(field)
        while true {
            if let path = paths[String(key)] ?? Self.defaultPaths[String(key)] { return path }
            guard let dot = key.lastIndex(where: { $0 == "." || $0 == "[" }) else { return "alert" }
            key = key[..<dot]
        }
    }

    /// Vigil's alert JSON for the fields read, the case set to `caseID` (for an update or cancel).
    func json(caseID: String?) -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.field("kind", fields["kind"])
        w.field("status", fields["status"])
        w.field("case_id", caseID)
        for key in ["country", "region", "threat", "severity", "urgency", "certainty", "confidentiality", "occurred_at", "summary",
            "summary_public", "language", "case_status"]
        {
            w.field(key, fields[key])
        }
        let defender = ["name", "organisation", "role", "group"].filter { fields["defender.\($0)"] != nil }
        if !defender.isEmpty {
            w.key("defender")
            w.beginObject()
            for key in defender { w.field(key, fields["defender.\(key)"]) }
            w.endObject()
        }
        if let note = fields["handling.note"] {
            w.key("handling")
            w.beginObject()
            w.field("note", note)
            w.endObject()
        }
        w.endObject()
        return w.bytes
    }
}

extension CAPSubmission {
    /// Walks a parsed document, gathering fields, their paths and the problems.
    struct Reader {
        var fields: [String: String] = [:]
        var paths: [String: String] = [:]
        var problems: [FieldError] = []
        var isForeign = false
        var kind: AlertKind?
        var referencedIDs: [String] = []

        mutating func fail(_ path: String, _ message: String) {
            if !problems.contains(where: { $0.field == path }) { problems.append(FieldError(path, message)) }
        }

        mutating func set(_ field: String, _ value: String, at path: String) {
            fields[field] = value
            paths[field] = path
        }

        /// `name` under `parent`'s path.
        static func path(_ parent: String, _ name: String) -> String { parent.isEmpty ? name : "\(parent).\(name)" }

        /// The one child `name` of `element`; a problem when it repeats or, `required`, is missing.
        mutating func single(_ name: String, of element: CAPElement, at parent: String, required: Bool) -> CAPElement? {
            let found = element.children(named: name)
            if found.count > 1 { fail(Self.path(parent, "\(name)[1]"), "repeats \(name); CAP 1.2 allows one") }
            if found.isEmpty && required { fail(Self.path(parent, name), "is required") }
            return found.first
        }

        /// A problem for each child of `element` that is neither `read` nor `ignored` (or is refused).
        mutating func checkChildren(of element: CAPElement, at parent: String, read: Set<String>, ignored: Set<String>, allowSignature: Bool = false) {
            for child in element.children {
                let path = Self.path(parent, child.name)
                if allowSignature && child.namespace == CAPSubmission.signatureNamespace { continue }
                if child.namespace != CAPDocument.namespace {
                    fail(path, "is not in the CAP 1.2 namespace (\(CAPDocument.namespace))")
                } else if let reason = CAPSubmission.refused[child.name] {
                    fail(path, reason)
                } else if !read.contains(child.name) && !ignored.contains(child.name) {
                    fail(path, "is not an element of CAP 1.2 here")
                }
            }
        }

        mutating func read(_ root: CAPElement) {
            guard root.name == "alert", root.namespace == CAPDocument.namespace else {
                isForeign = true
                let namespace = root.namespace.isEmpty ? "no namespace" : "namespace \(root.namespace)"
                return fail("alert", "the root is '\(root.name)' in \(namespace); send a CAP 1.2 alert (namespace \(CAPDocument.namespace))")
            }
            checkChildren(of: root, at: "", read: CAPSubmission.alertRead, ignored: CAPSubmission.alertIgnored, allowSignature: true)
            if let element = single("status", of: root, at: "", required: true) {
                if let status = CAPVocabulary.status(cap: element.value) {
                    set("status", status.rawValue, at: "status")
                } else {
                    fail("status", "'\(element.value.prefix(40))' is not filed by Vigil; use Actual, Exercise or Test")
                }
            }
            if let element = single("msgType", of: root, at: "", required: true) {
                if let kind = CAPVocabulary.kind(cap: element.value) {
                    self.kind = kind
                    set("kind", kind.rawValue, at: "msgType")
                } else {
                    fail("msgType", "'\(element.value.prefix(40))' is not filed by Vigil; use Alert, Update (with references) or Cancel (with references)")
                }
            }
            if let element = single("scope", of: root, at: "", required: true), !["Public", "Restricted"].contains(element.value) {
                fail("scope", "'\(element.value.prefix(40))' is refused: Vigil routes by country to its subscribers; use Restricted (or Public)")
            }
            if let kind, kind != .alert {
                if let element = single("references", of: root, at: "", required: false) {
                    readReferences(element.value)
                } else {
                    fail("references", "is required for an \(CAPVocabulary.capMessageType(kind)): sender,identifier,sent of the Vigil alert it follows")
                }
            }
            let infos = root.children.filter { $0.name == "info" && $0.namespace == CAPDocument.namespace }
            if infos.count > 1 { fail("info[1]", "Vigil reads one info block per alert; send one alert, in one language") }
            if let info = infos.first {
                readInfo(info)
            } else {
                fail("info", "is required: one info block with the event, urgency, severity, certainty and area")
            }
        }

        mutating func readReferences(_ text: String) {
            let triples = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" })
            guard triples.count <= CAPSubmission.maxReferences else {
                return fail("references", "names \(triples.count) alerts; at most \(CAPSubmission.maxReferences) are read")
            }
            for triple in triples {
                let parts = triple.split(separator: ",", omittingEmptySubsequences: false)
                guard parts.count == 3, !parts[1].isEmpty else {
                    return fail("references", "must be space-separated sender,identifier,sent triples, such as vigil@example.org,01J…,2026-11-21T22:00:00+00:00")
                }
                referencedIDs.append(String(parts[1]))
            }
            if referencedIDs.isEmpty { fail("references", "names no alert; give sender,identifier,sent of the Vigil alert it follows") }
        }

        mutating func readInfo(_ info: CAPElement) {
            let at = "info[0]"
            checkChildren(of: info, at: at, read: CAPSubmission.infoRead, ignored: CAPSubmission.infoIgnored)
            if let element = single("language", of: info, at: at, required: false) { set("language", element.value, at: "\(at).language") }
            for (index, parameter) in info.children(named: "parameter").enumerated() { readParameter(parameter, at: "\(at).parameter[\(index)]") }
            let event = single("event", of: info, at: at, required: false)
            if fields["threat"] == nil {
                if let event {
                    if let threat = CAPVocabulary.threat(event: event.value) {
                        set("threat", threat.rawValue, at: "\(at).event")
                    } else {
                        fail("\(at).event", "'\(event.value.prefix(60))' names no threat Vigil knows (\(Threat.allCases.map(CAPVocabulary.event).joined(separator: ", "))); name one, or give a parameter threat")
                    }
                } else {
                    fail("\(at).event", "is required: the threat in words, such as arrest")
                }
            }
            if let element = single("urgency", of: info, at: at, required: true) {
                if let urgency = CAPVocabulary.urgency(cap: element.value) {
                    set("urgency", urgency.rawValue, at: "\(at).urgency")
                } else {
                    fail("\(at).urgency", "'\(element.value.prefix(40))' is not a CAP 1.2 urgency: Immediate, Expected, Future, Past or Unknown")
                }
            }
            if let element = single("severity", of: info, at: at, required: true) {
                if let severity = CAPVocabulary.severity(cap: element.value) {
                    set("severity", severity.rawValue, at: "\(at).severity")
                } else if element.value == "Unknown" {
                    fail("\(at).severity", "Unknown is refused: Vigil routes on severity; use Extreme, Severe, Moderate or Minor")
                } else {
                    fail("\(at).severity", "'\(element.value.prefix(40))' is not a CAP 1.2 severity: Extreme, Severe, Moderate or Minor")
                }
            }
            if let element = single("certainty", of: info, at: at, required: true) {
                if let certainty = CAPVocabulary.certainty(cap: element.value) {
                    set("certainty", certainty.rawValue, at: "\(at).certainty")
                } else {
                    fail("\(at).certainty", "'\(element.value.prefix(40))' is not a CAP 1.2 certainty: Observed, Likely, Possible, Unlikely or Unknown")
                }
            }
            if let element = single("onset", of: info, at: at, required: false) { set("occurred_at", element.value, at: "\(at).onset") }
            if let element = single("description", of: info, at: at, required: false) { set("summary", element.value, at: "\(at).description") }
            if let element = single("instruction", of: info, at: at, required: false) { set("handling.note", element.value, at: "\(at).instruction") }
            if fields["defender.name"] == nil {
                fail("\(at).parameter", "needs a parameter defender.name: CAP carries no defender, so give the defender's name as <parameter><valueName>defender.name</valueName><value>…</value></parameter>")
            }
            let areas = info.children(named: "area")
            if areas.count > 1 { fail("\(at).area[1]", "Vigil routes an alert to one country; send one area") }
            if let area = areas.first {
                readArea(area, at: "\(at).area[0]")
            } else {
                fail("\(at).area", "is required: one area with a geocode ISO3166-1 naming the country")
            }
        }

        mutating func readParameter(_ parameter: CAPElement, at path: String) {
            checkChildren(of: parameter, at: path, read: CAPSubmission.pairRead, ignored: [])
            guard let name = single("valueName", of: parameter, at: path, required: true) else { return }
            let value = single("value", of: parameter, at: path, required: true)
            guard let field = CAPSubmission.parameters[name.value] else {
                let known = CAPSubmission.parameters.keys.sorted().joined(separator: ", ")
                return fail("\(path).valueName", "'\(name.value.prefix(60))' is not a parameter Vigil reads; it reads \(known)")
            }
            guard let field, let value else { return }
            if paths[field] != nil { return fail("\(path).valueName", "repeats the parameter \(name.value)") }
            set(field, value.value, at: "\(path).value")
        }

        mutating func readArea(_ area: CAPElement, at path: String) {
            checkChildren(of: area, at: path, read: CAPSubmission.areaRead, ignored: CAPSubmission.areaIgnored)
            var codes: [(String, String)] = []
            for (index, geocode) in area.children(named: "geocode").enumerated() {
                let at = "\(path).geocode[\(index)]"
                checkChildren(of: geocode, at: at, read: CAPSubmission.pairRead, ignored: [])
                guard let name = single("valueName", of: geocode, at: at, required: true),
                    let value = single("value", of: geocode, at: at, required: true)
                else { continue }
                if name.value.uppercased() == "ISO3166-1" { codes.append((value.value, "\(at).value")) }
            }
            if codes.count > 1 { fail(codes[1].1, "a second ISO3166-1 geocode; Vigil routes an alert to one country") }
            if let (code, at) = codes.first {
                set("country", code, at: at)
            } else {
                let shapes = area.children.contains { $0.name == "polygon" || $0.name == "circle" }
                fail("\(path).geocode", (shapes ? "polygon and circle are not read: Vigil routes by country; " : "")
                    + "give a geocode with valueName ISO3166-1 and the country's alpha-2 code, such as BY")
            }
            // areaDesc: the country's name alone, or "Country — region" as Vigil writes it, or a region.
            if let description = single("areaDesc", of: area, at: path, required: false)?.value, !description.isEmpty {
                let name = codes.first.flatMap { CountryCode($0.0) }?.name
                var region: String? = description
                if let name {
                    if description.caseInsensitiveCompare(name) == .orderedSame {
                        region = nil
                    } else if description.hasPrefix(name + " — ") {
                        region = String(description.dropFirst(name.count + 3))
                    }
                }
                if let region, region != RedactionMark.redacted, region != RedactionMark.erased {
                    set("region", region, at: "\(path).areaDesc")
                }
            }
        }
    }
}
