import Foundation

/// A subscriber as `POST /v1/subscribers` (or `PUT`) takes it, checked field by field.
public struct SubscriberSubmission: Sendable {
    /// The decoded body.
    public let body: JSONValue

    /// Limits that keep one subscriber from bloating the routing index.
    public enum Limits {
        public static let channels = 20
        public static let subscriptions = 50
        public static let text = 200
        public static let url = 2000
    }

    static let knownFields: Set<String> = [
        "id", "name", "kind", "organisation", "contact", "clearance", "language", "channels", "subscriptions", "secrets", "escalation",
        "reports", "ack_visibility",
    ]
    static let escalationFields: Set<String> = ["min_severity", "after_seconds", "to", "remind_every_seconds", "max_reminders"]
    static let channelFields: Set<String> = ["id", "type", "url", "address", "secret"]
    static let subscriptionFields: Set<String> = ["countries", "min_severity", "threats", "digest"]
    static let digestFields: Set<String> = ["below", "every", "at", "timezone"]

    /// A submission of `body`.
    public init(body: JSONValue) { self.body = body }

    /// Parses `bytes` as JSON; malformed JSON is one field error at `$`.
    public init(json bytes: [UInt8]) throws(ValidationFailure) {
        body = try ValidationFailure.parseBody(bytes)
    }

    /// A subscription's `digest` (issue 21): `below` (`medium` or `high`), `every` (an ISO 8601
    /// period, `DigestPeriod`), `at` (`HH:MM`, default `00:00`) and `timezone` (an IANA name,
    /// default `UTC`).
    static func digest(_ d: inout FieldReader) -> DigestSchedule? {
        d.refuseUnknown(Self.digestFields, of: "a digest")
        let below: Severity? = d.word("below")
        if let below, !DigestSchedule.allowedBelow.contains(below) {
            d.fail("below", "must be medium or high: critical alerts always go at once, and nothing is below low")
        }
        var every: DigestPeriod?
        if let text = d.string("every", required: true) {
            every = DigestPeriod(iso8601: text)
            if every == nil {
                d.fail("every", "must be an ISO 8601 period of whole days (P1D to P\(DigestPeriod.maxDays)D, or weeks: P1W) or of PT\(DigestPeriod.minSeconds)S to PT24H; days and hours together are refused")
            }
        }
        var at = TimeOfDay(hour: 0, minute: 0)
        if let text = d.string("at", required: false) {
            if let time = TimeOfDay(text) { at = time } else { d.fail("at", "must be a time of day as HH:MM on a 24-hour clock, for example 08:00") }
        }
        var timezone = "UTC"
        if let text = d.string("timezone", required: false) {
            if FieldReader.fits(text, max: 64), TimeZone(identifier: text) != nil {
                timezone = text
            } else {
                d.fail("timezone", "must be an IANA time zone name such as Europe/Brussels or UTC")
            }
        }
        guard d.errors.isEmpty, let below, let every else { return nil }
        return DigestSchedule(below: below, every: every, at: at, timezone: timezone)
    }

    /// Checks every field and returns the subscriber.
    ///
    /// - Parameters:
    ///   - id: the subscriber's id (new, or the one being replaced).
    ///   - existingChannels: channel ids the subscriber already has; a channel naming one of
    ///     them keeps it, any other gets an id from `newChannelID`.
    ///   - newChannelID: makes ids for new channels.
    public func validate(id: String, existingChannels: Set<String> = [], newChannelID: () -> String) throws(ValidationFailure) -> Subscriber {
        guard case .object(let fields) = body else {
            throw ValidationFailure([FieldError("$", "expected a JSON object, got \(body.typeName)")])
        }
        var r = FieldReader(fields)
        r.refuseUnknown(Self.knownFields.subtracting(["id", "secrets"]), of: "a subscriber")
        let name = r.text("name", max: Limits.text, required: true)
        let kind: SubscriberKind? = r.word("kind")
        let organisation = r.text("organisation", max: Limits.text, required: true)
        var contact: String?
        if let text = r.string("contact", required: true) {
            if FieldReader.isEmailAddress(text) { contact = text } else { r.fail("contact", "must be an email address for notices about this subscriber's endpoints") }
        }
        let clearance = r.word("clearance", default: Confidentiality.public)
        let language = r.language("language", default: "en")

        var channels: [Channel] = []
        let channelItems = r.array("channels", maxCount: Limits.channels) ?? []
        if channelItems.isEmpty { r.fail("channels", "needs at least one webhook or email channel") }
        var seenTargets = Set<String>()
        for (index, item) in channelItems.enumerated() {
            guard case .object(let object) = item else {
                r.fail("channels[\(index)]", "expected an object, got \(item.typeName)")
                continue
            }
            let channel: Channel? = r.nested(object, path: "channels[\(index)]") { c in
                c.refuseUnknown(Self.channelFields.subtracting(["secret"]), of: "a channel")
                guard let type: Channel.Kind = c.word("type") else { return nil }
                var channelID = newChannelID()
                if let given = c.string("id", required: false) {
                    if existingChannels.contains(given) { channelID = given } else { c.fail("id", "is not a channel of this subscriber; leave it out for a new channel") }
                }
                switch type {
                case .webhook:
                    if c.fields["address"] != nil { c.fail("address", "belongs to email channels; a webhook has a url") }
                    guard let url = c.string("url", required: true) else { return nil }
                    guard AlertSubmission.isWebURL(url, maxLength: Limits.url) else {
                        c.fail("url", "must be an https (or, where allowed, http) URL of at most \(Limits.url) characters")
                        return nil
                    }
                    return Channel(id: channelID, type: .webhook, url: url)
                case .email:
                    if c.fields["url"] != nil { c.fail("url", "belongs to webhook channels; an email channel has an address") }
                    guard let address = c.string("address", required: true) else { return nil }
                    guard FieldReader.isEmailAddress(address) else {
                        c.fail("address", "'\(address)' is not an email address")
                        return nil
                    }
                    return Channel(id: channelID, type: .email, address: address)
                }
            }
            if let channel {
                if !seenTargets.insert("\(channel.type.rawValue) \(channel.target.lowercased())").inserted {
                    r.fail("channels[\(index)]", "repeats another channel of this subscriber")
                } else {
                    channels.append(channel)
                }
            }
        }

        var subscriptions: [Subscription] = []
        let subscriptionItems = r.array("subscriptions", maxCount: Limits.subscriptions) ?? []
        if subscriptionItems.isEmpty { r.fail("subscriptions", "needs at least one subscription (countries and a minimum severity)") }
        for (index, item) in subscriptionItems.enumerated() {
            guard case .object(let object) = item else {
                r.fail("subscriptions[\(index)]", "expected an object, got \(item.typeName)")
                continue
            }
            let subscription: Subscription? = r.nested(object, path: "subscriptions[\(index)]") { s in
                s.refuseUnknown(Self.subscriptionFields, of: "a subscription")
                var countries = Set<CountryCode>()
                var everywhere = false
                let words = s.strings("countries", maxCount: 249) { word in
                    word == "*" || CountryCode(word) != nil ? nil : "'\(word)' is not an ISO 3166-1 alpha-2 code (or * for every country)"
                }
                if s.isAbsent("countries") || words.isEmpty && s.errors.isEmpty {
                    s.fail("countries", "needs at least one country code, or [\"*\"] for every country")
                } else if words.contains("*") {
                    if words.count > 1 { s.fail("countries", "use either \"*\" or a list of countries, not both") }
                    everywhere = true
                } else {
                    countries = Set(words.compactMap { CountryCode($0) })
                }
                let minSeverity: Severity? = s.word("min_severity")
                var threats: Set<Threat>?
                if !s.isAbsent("threats") {
                    let names = s.strings("threats", maxCount: Threat.allCases.count) { Threat(rawValue: $0) == nil ? "'\($0)' is not one of: \(Threat.allowedWords)" : nil }
                    if names.isEmpty && s.errors.isEmpty { s.fail("threats", "leave it out to receive every threat; an empty list would receive none") }
                    threats = Set(names.compactMap { Threat(rawValue: $0) })
                }
                var digest: DigestSchedule?
                if let object = s.object("digest", required: false) {
                    digest = s.nested(object, path: "digest") { d in Self.digest(&d) }
                    if let digest, let minSeverity, digest.below <= minSeverity {
                        s.fail("digest.below", "is not above min_severity (\(minSeverity.rawValue)): the digest would gather nothing")
                    }
                }
                guard let minSeverity else { return nil }
                return Subscription(countries: countries, allCountries: everywhere, minSeverity: minSeverity, threats: threats, digest: digest)
            }
            if let subscription { subscriptions.append(subscription) }
        }

        var escalation: EscalationPolicy?
        if let object = r.object("escalation", required: false) {
            escalation = r.nested(object, path: "escalation") { e -> EscalationPolicy? in
                e.refuseUnknown(Self.escalationFields, of: "escalation")
                let minSeverity: Severity? = e.word("min_severity")
                let after = e.integer("after_seconds", in: 1...EscalationPolicy.Limits.maxSeconds, required: true)
                let to = e.strings("to", maxCount: EscalationPolicy.Limits.maxTargets) {
                    $0.hasPrefix("sub_") && FieldReader.fits($0, max: 64) ? (($0 == id) ? "cannot be the subscriber itself" : nil) : "must be a subscriber id (sub_…)"
                }
                let remind = e.integer("remind_every_seconds", in: 1...EscalationPolicy.Limits.maxSeconds, required: false)
                let maxReminders = e.integer("max_reminders", in: 0...Int64(EscalationPolicy.Limits.maxReminders), required: false)
                if remind != nil, e.isAbsent("max_reminders") { e.fail("max_reminders", "is required with remind_every_seconds") }
                if to.isEmpty, remind == nil, e.errors.isEmpty {
                    e.fail("to", "names no one and there are no reminders: give escalation targets, reminders or both")
                }
                guard let minSeverity, let after else { return nil }
                return EscalationPolicy(
                    minSeverity: minSeverity, afterSeconds: after, to: to, remindEverySeconds: remind, maxReminders: Int(maxReminders ?? 0))
            }
        }
        let reports = r.bool("reports", default: false)
        let ackVisibility = r.word("ack_visibility", default: AckVisibility.filer)

        guard r.errors.isEmpty, let name, let kind, let organisation, let contact, let clearance, let ackVisibility else {
            throw ValidationFailure(r.errors)
        }
        return Subscriber(
            id: id, name: name, kind: kind, organisation: organisation, contact: contact, clearance: clearance,
            language: language, channels: channels, subscriptions: subscriptions, escalation: escalation, reports: reports,
            ackVisibility: ackVisibility)
    }
}
