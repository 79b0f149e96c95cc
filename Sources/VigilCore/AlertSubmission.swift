import Foundation

/// An alert as a partner sends it, before the server has checked it and stamped its id,
/// reception time and source.
///
/// `validate` looks at every field and returns either an `Alert` or a `ValidationFailure`
/// naming every problem at once, so a filer fixes their alert in one round trip.
public struct AlertSubmission: Sendable {
    /// The decoded JSON body.
    public let body: JSONValue

    /// Fields the server assigns; a body may not set them.
    static let serverFields: Set<String> = ["id", "received_at"]
    /// Every field a body may carry.
    static let knownFields: Set<String> = [
        "id", "case_id", "kind", "status", "received_at", "occurred_at", "country", "region", "threat", "severity",
        "urgency", "certainty", "confidentiality", "defender", "summary", "language", "source", "tags", "links",
    ]
    static let defenderFields: Set<String> = ["name", "organisation", "role", "group"]

    /// Limits on free text, so one alert cannot bloat every copy of the log.
    public enum Limits {
        public static let name = 200
        public static let region = 200
        public static let summary = 4000
        public static let tags = 20
        public static let tag = 64
        public static let links = 20
        public static let link = 2000
        /// How far in the future `occurred_at` may lie, for clock skew.
        public static let futureSkewMilliseconds: Int64 = 5 * 60 * 1000
    }

    /// A submission of an already-decoded JSON body.
    public init(body: JSONValue) { self.body = body }

    /// Parses `bytes` as JSON; a body that is not JSON is one field error at `$`.
    public init(json bytes: [UInt8]) throws(ValidationFailure) {
        do {
            body = try JSONParser.parse(bytes)
        } catch {
            throw ValidationFailure([FieldError("$", "the body is not valid JSON: \(error.description)")])
        }
    }

    /// Checks every field and returns the alert the server will append.
    ///
    /// - Parameters:
    ///   - id: the server-assigned ULID.
    ///   - receivedAt: the server's reception time.
    ///   - organisation: the filer's organisation, taken from its token.
    public func validate(id: ULID, receivedAt: Timestamp, organisation: String) throws(ValidationFailure) -> Alert {
        guard case .object(let fields) = body else {
            throw ValidationFailure([FieldError("$", "expected a JSON object, got \(body.typeName)")])
        }
        var errors: [FieldError] = []

        for key in fields.keys.sorted() where !Self.knownFields.contains(key) {
            errors.append(FieldError(key, "is not a field of an alert"))
        }
        for key in Self.serverFields.sorted() where fields[key] != nil {
            errors.append(FieldError(key, "is assigned by the server; leave it out"))
        }

        let kind = enumField("kind", in: fields, default: AlertKind.alert, errors: &errors)
        let status = enumField("status", in: fields, default: AlertStatus.actual, errors: &errors)
        let threat: Threat? = enumField("threat", in: fields, errors: &errors)
        let severity: Severity? = enumField("severity", in: fields, errors: &errors)
        let urgency = enumField("urgency", in: fields, default: Urgency.unknown, errors: &errors)
        let certainty: Certainty? = enumField("certainty", in: fields, errors: &errors)
        let confidentiality = enumField("confidentiality", in: fields, default: Confidentiality.restricted, errors: &errors)

        var country: CountryCode?
        if let text = stringField("country", in: fields, required: true, errors: &errors) {
            country = CountryCode(text)
            if country == nil {
                errors.append(FieldError("country", "'\(text)' is not an ISO 3166-1 alpha-2 country code, such as BY or CO"))
            }
        }

        var caseID: String?
        if let text = stringField("case_id", in: fields, required: false, errors: &errors) {
            if let ulid = ULID(text) {
                caseID = ulid.description
            } else {
                errors.append(FieldError("case_id", "must be the id of the case's first alert (a 26-character ULID)"))
            }
        }
        if let kind, kind != .alert, fields["case_id"] == nil {
            errors.append(FieldError("case_id", "is required for an \(kind.rawValue): the id of the case's first alert"))
        }

        var occurredAt: Timestamp?
        if let text = stringField("occurred_at", in: fields, required: false, errors: &errors) {
            if let time = Timestamp(rfc3339: text) {
                if time.milliseconds > receivedAt.milliseconds + Limits.futureSkewMilliseconds {
                    errors.append(FieldError("occurred_at", "lies in the future; give the time the event happened"))
                }
                occurredAt = time
            } else {
                errors.append(FieldError("occurred_at", "must be an RFC 3339 time such as 2026-11-21T22:00:00Z"))
            }
        }

        let region = textField("region", in: fields, max: Limits.region, required: false, errors: &errors)
        let summary = textField("summary", in: fields, max: Limits.summary, required: true, errors: &errors)

        var language = "en"
        if let text = stringField("language", in: fields, required: false, errors: &errors) {
            if Self.isLanguageTag(text) {
                language = text
            } else {
                errors.append(FieldError("language", "'\(text)' is not a BCP 47 language tag such as en, fr or nl-BE"))
            }
        }

        let defender = defenderField(in: fields, errors: &errors)

        if let value = fields["source"] {
            if case .object(let source) = value {
                for key in source.keys.sorted() where key != "organisation" {
                    errors.append(FieldError("source.\(key)", "is not a field of source"))
                }
                if let claimed = source["organisation"], claimed != .string(organisation) {
                    errors.append(FieldError(
                        "source.organisation",
                        "is taken from your token ('\(organisation)'); a body cannot file for another organisation"))
                }
            } else {
                errors.append(FieldError("source", "expected an object, got \(value.typeName)"))
            }
        }

        let tags = stringList("tags", in: fields, maxCount: Limits.tags, errors: &errors) { tag in
            guard !tag.isEmpty, tag.count <= Limits.tag,
                tag.unicodeScalars.allSatisfy({ CharacterSet.lowercaseLetters.contains($0) || CharacterSet.decimalDigits.contains($0) || $0 == "-" || $0 == "_" })
            else { return "must be 1 to \(Limits.tag) lower-case letters, digits, '-' or '_'" }
            return nil
        }
        let links = stringList("links", in: fields, maxCount: Limits.links, errors: &errors) { link in
            guard link.count <= Limits.link, let url = URL(string: link), let scheme = url.scheme?.lowercased(),
                scheme == "https" || scheme == "http", url.host?.isEmpty == false
            else { return "must be an http or https URL of at most \(Limits.link) characters" }
            return nil
        }

        guard errors.isEmpty, let kind, let status, let country, let threat, let severity, let urgency, let certainty,
            let confidentiality, let defender, let summary
        else { throw ValidationFailure(errors) }

        return Alert(
            id: id.description, caseID: caseID, kind: kind, status: status, receivedAt: receivedAt,
            occurredAt: occurredAt, country: country, region: region, threat: threat, severity: severity,
            urgency: urgency, certainty: certainty, confidentiality: confidentiality, defender: defender,
            summary: summary, language: language, source: AlertSource(organisation: organisation), tags: tags,
            links: links)
    }

    /// `text` without leading and trailing white space, in Swift (Foundation's
    /// `trimmingCharacters` bridges through NSString and was a hot spot on ingest).
    static func trimmed(_ text: String) -> String {
        guard let first = text.firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = text.lastIndex(where: { !$0.isWhitespace })!
        return first == text.startIndex && last == text.index(before: text.endIndex) ? text : String(text[first...last])
    }

    /// `true` for a plausible BCP 47 tag: a 2–3 letter language and optional subtags.
    static func isLanguageTag(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = parts.first, (2...3).contains(first.count), first.allSatisfy({ $0.isASCII && $0.isLetter })
        else { return false }
        return parts.dropFirst().allSatisfy { (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
    }

    // MARK: - field readers; each appends to `errors` and returns nil when the field is unusable

    private func stringField(_ name: String, in fields: [String: JSONValue], required: Bool, errors: inout [FieldError]) -> String? {
        switch fields[name] {
        case nil, .null?:
            if required { errors.append(FieldError(name, "is required")) }
            return nil
        case .string(let text)?:
            return text
        case let other?:
            errors.append(FieldError(name, "expected a string, got \(other.typeName)"))
            return nil
        }
    }

    private func textField(_ name: String, in fields: [String: JSONValue], max: Int, required: Bool, errors: inout [FieldError]) -> String? {
        guard let text = stringField(name, in: fields, required: required, errors: &errors) else { return nil }
        let trimmed = Self.trimmed(text)
        if trimmed.isEmpty {
            if required { errors.append(FieldError(name, "must not be empty")) }
            return nil
        }
        if trimmed.count > max {
            errors.append(FieldError(name, "is \(trimmed.count) characters long; at most \(max) are allowed"))
            return nil
        }
        return trimmed
    }

    private func enumField<E: Vocabulary>(_ name: String, in fields: [String: JSONValue], default fallback: E? = nil, errors: inout [FieldError]) -> E? {
        guard let text = stringField(name, in: fields, required: fallback == nil, errors: &errors) else {
            return fields[name] == nil || fields[name] == .null ? fallback : nil
        }
        guard let value = E(rawValue: text) else {
            errors.append(FieldError(name, "'\(text)' is not one of: \(E.allowedWords)"))
            return nil
        }
        return value
    }

    private func defenderField(in fields: [String: JSONValue], errors: inout [FieldError]) -> Defender? {
        guard let value = fields["defender"], value != .null else {
            errors.append(FieldError("defender", "is required: at least the defender's name"))
            return nil
        }
        guard case .object(let object) = value else {
            errors.append(FieldError("defender", "expected an object, got \(value.typeName)"))
            return nil
        }
        var nested: [FieldError] = []
        for key in object.keys.sorted() where !Self.defenderFields.contains(key) {
            nested.append(FieldError(key, "is not a field of defender"))
        }
        let name = textField("name", in: object, max: Limits.name, required: true, errors: &nested)
        let organisation = textField("organisation", in: object, max: Limits.name, required: false, errors: &nested)
        let role = textField("role", in: object, max: Limits.name, required: false, errors: &nested)
        let group: DefenderGroup? = object["group"] == nil ? nil : enumField("group", in: object, default: nil, errors: &nested)
        errors += nested.map { FieldError("defender.\($0.field)", $0.message) }
        guard nested.isEmpty, let name else { return nil }
        return Defender(name: name, organisation: organisation, role: role, group: group)
    }

    private func stringList(_ name: String, in fields: [String: JSONValue], maxCount: Int, errors: inout [FieldError], check: (String) -> String?) -> [String] {
        guard let value = fields[name], value != .null else { return [] }
        guard case .array(let items) = value else {
            errors.append(FieldError(name, "expected an array of strings, got \(value.typeName)"))
            return []
        }
        if items.count > maxCount {
            errors.append(FieldError(name, "has \(items.count) entries; at most \(maxCount) are allowed"))
        }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                errors.append(FieldError("\(name)[\(index)]", "expected a string, got \(item.typeName)"))
                continue
            }
            if let problem = check(text) {
                errors.append(FieldError("\(name)[\(index)]", problem))
            } else {
                result.append(text)
            }
        }
        return result
    }
}
