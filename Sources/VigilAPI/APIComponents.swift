import VigilCore
import VigilStore

/// The schemas several operations share (`#/components/schemas/…`): the error bodies, an
/// alert as filed and as read, a delivery, a subscriber as submitted and as shown. Written
/// from the handlers and the types they encode; vocabularies come from VigilCore's enums and
/// limits from its constants, so the contract moves when they do.
enum APIComponents {
    /// A canonical ULID (Vigil's alert and case ids), any case.
    static let ulid = OpenAPISchema.string("a ULID", pattern: "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")
    /// An RFC 3339 time.
    static let time = OpenAPISchema.string("an RFC 3339 time such as 2026-11-21T22:00:00Z", format: "date-time")
    /// An ISO 3166-1 alpha-2 code Vigil knows.
    static let country = OpenAPISchema.words(CountryCode.all.map(\.code), "an ISO 3166-1 alpha-2 country code")
    /// A BCP 47 language tag as `FieldReader.isLanguageTag` reads one.
    static let language = OpenAPISchema.string(
        "a BCP 47 language tag such as en, fr or nl-BE", maxLength: 35, pattern: "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
    /// An email address as `FieldReader.isEmailAddress` reads one.
    static let email = OpenAPISchema.string(
        "an email address", maxLength: 254, pattern: "^[^@\\s<>]+@[^@.\\s<>][^@\\s<>]*\\.[^@\\s<>]*[^@.\\s<>]$")
    /// An http(s) URL of at most `max` characters.
    static func webURL(max: Int) -> OpenAPISchema {
        .string("an absolute http or https URL", maxLength: max, pattern: "^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$")
    }
    /// Free text that must hold more than white space, of at most `max` characters.
    static func text(_ description: String, max: Int) -> OpenAPISchema {
        .string(description, minLength: 1, maxLength: max, pattern: "\\S")
    }

    /// An acknowledgement's note: no control characters but line breaks and tabs.
    static let note = OpenAPISchema.string(
        "a note, at most \(Acknowledger.maxNoteCharacters) characters", maxLength: Acknowledger.maxNoteCharacters,
        pattern: "^[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]*$")

    /// Every shared schema by name.
    static var schemas: [String: OpenAPISchema] {
        [
            "Error": error, "FieldError": fieldError, "ValidationError": validationError, "Alert": alert, "AlertSubmission": alertSubmission,
            "Receipt": receipt, "Delivery": delivery, "Deliveries": deliveries, "Subscriber": subscriber,
            "SubscriberSubmission": subscriberSubmission, "Subscription": subscription, "Digest": digest, "Escalation": escalation,
            "Acknowledgement": acknowledgement, "ReplayProgress": replayProgress,
        ]
    }

    /// `APIError`'s body: a code, a sentence, and for a handling conflict the instruction.
    static let error = OpenAPISchema.object(
        [
            "error": .string("a stable code: bad_request, unauthorized, forbidden, not_found, idempotency_conflict, handling_instruction, gone, unsupported_media_type, rate_limited, too_many_failures, too_many_long_polls, unavailable, not_acceptable, method_not_allowed, busy, …"),
            "message": .string("what went wrong, in a sentence"),
            "instruction": .string("the filer's handling instruction an acknowledgement contradicts (409 handling_instruction only)"),
        ], required: ["error", "message"], "an error")

    static let fieldError = OpenAPISchema.object(
        ["field": .string("the JSON path of the field (`defender.name`, `links[2]`, `$` for the whole body)"), "message": .string()],
        required: ["field", "message"])

    static let validationError = OpenAPISchema.object(
        ["error": .constant("validation_failed"), "fields": .array(.ref("FieldError"), minItems: 1)], required: ["error", "fields"],
        "every invalid field, named by its path")

    static let defender = OpenAPISchema.object(
        [
            "name": .string(), "organisation": .string(), "role": .string(), "group": .words(DefenderGroup.self),
        ], required: ["name"])

    static let handling = OpenAPISchema.object(
        [
            "exclude_kinds": .array(.words(SubscriberKind.self)), "exclude_subscribers": .array(.string()),
            "no_contact_with_authorities": .boolean(), "no_contact_with_defender": .boolean(), "no_public_statement": .boolean(),
            "note": .string(),
        ])

    /// An alert as the API shows it (redacted to the reader's clearance; `offset` in listings and reads).
    static let alert = OpenAPISchema.object(
        [
            "id": ulid, "case_id": ulid, "case_status": .words(CaseStatus.self), "certainty": .words(Certainty.self),
            "confidentiality": .words(Confidentiality.self), "country": .string(pattern: "^[A-Z]{2}$"), "defender": defender,
            "handling": handling, "kind": .words(AlertKind.self), "language": .string(), "links": .array(.string()),
            "next_event": .object(["at": time, "place": .string(), "type": .words(CaseEvent.Kind.self)], required: ["at", "type"]),
            "occurred_at": time, "offset": .integer(minimum: 1), "received_at": time, "region": .string(), "severity": .words(Severity.self),
            "source": .object(["organisation": .string()], required: ["organisation"]), "status": .words(AlertStatus.self),
            "summary": .string(), "summary_public": .string(), "tags": .array(.string()), "threat": .words(Threat.self),
            "urgency": .words(Urgency.self),
        ],
        required: [
            "certainty", "confidentiality", "country", "defender", "id", "kind", "language", "links", "received_at", "severity", "source",
            "status", "summary", "tags", "threat", "urgency",
        ], "an alert, redacted to the reader's clearance")

    typealias Limits = AlertSubmission.Limits

    /// An alert as a partner files it (`AlertSubmission`); unknown fields are refused.
    static let alertSubmission = OpenAPISchema.object(
        [
            "case_id": ulid.described("the id of the case's first alert; required for updates and cancels"),
            "kind": .words(AlertKind.self, "default alert; update and cancel need case_id"),
            "status": .words(AlertStatus.self, "default actual"),
            "occurred_at": time.described("when it happened; not more than five minutes in the future"),
            "country": country, "region": text("where in the country", max: Limits.region), "threat": .words(Threat.self),
            "severity": .words(Severity.self), "urgency": .words(Urgency.self, "default unknown"), "certainty": .words(Certainty.self),
            "confidentiality": .words(Confidentiality.self, "default restricted"),
            "defender": .object(
                [
                    "name": text("the defender's name", max: Limits.name), "organisation": text("their organisation", max: Limits.name),
                    "role": text("their role", max: Limits.name), "group": .words(DefenderGroup.self),
                ], required: ["name"], closed: true),
            "summary": text("what happened", max: Limits.summary),
            "summary_public": text("a summary safe to show below the alert's confidentiality", max: Limits.summary),
            "language": language.described("the summary's language, default en"),
            "source": .object(
                ["organisation": .string("must be the token's organisation")], closed: true, "taken from the token; may repeat it"),
            "tags": .array(.string(minLength: 1, maxLength: Limits.tag, pattern: "^[a-z0-9_-]+$"), maxItems: Limits.tags),
            "links": .array(webURL(max: Limits.link), maxItems: Limits.links),
            "case_status": .words(CaseStatus.self, "updates only"),
            "next_event": .object(
                ["type": .words(CaseEvent.Kind.self), "at": time, "place": text("where", max: Limits.region)], required: ["at", "type"],
                closed: true, "updates only"),
            "handling": .object(
                [
                    "no_public_statement": .boolean(), "no_contact_with_authorities": .boolean(), "no_contact_with_defender": .boolean(),
                    "exclude_kinds": .array(.words(SubscriberKind.self), maxItems: SubscriberKind.allCases.count),
                    "exclude_subscribers": .array(.string(minLength: 1, maxLength: 64), maxItems: Limits.excludedSubscribers),
                    "note": text("for every recipient", max: Limits.handlingNote),
                ], closed: true, "the filer's handling instructions"),
        ],
        required: ["certainty", "country", "defender", "severity", "summary", "threat"], closed: true, "an alert to file")

    /// `202`'s body: the alert's id and log offset.
    static let receipt = OpenAPISchema.object(
        ["id": ulid, "offset": .integer(minimum: 1), "status": .constant("accepted")], required: ["id", "offset", "status"])

    /// A delivery as `DeliveryRecord.write` shows it.
    static let delivery = OpenAPISchema.object(
        [
            "id": .string(), "alert_id": ulid, "attempts": .integer(minimum: 0), "channel_id": .string(), "channel_type": .words(Channel.Kind.self),
            "created_at": time, "follow_up": .string("what a follow-up is: an escalation, a reminder, a report or a digest"),
            "last_error": .string(), "next_attempt_at": time,
            "reason": .string("matched, follows_case, replay, follow_up, excluded_by_filer or digest"), "replay_id": .string(),
            "state": .words(DeliveryState.self), "subscriber_id": .string(), "updated_at": time,
        ], required: ["alert_id", "attempts", "channel_id", "channel_type", "created_at", "id", "reason", "state", "subscriber_id", "updated_at"])

    static let deliveries = OpenAPISchema.object(
        ["alert_id": ulid, "deliveries": .array(.ref("Delivery"))], required: ["deliveries"])

    static let digest = OpenAPISchema.object(
        [
            "below": .words(DigestSchedule.allowedBelow.map(\.rawValue), "alerts below this severity are gathered"),
            "every": .string("an ISO 8601 period: P1D to P\(DigestPeriod.maxDays)D, P1W, or PT\(DigestPeriod.minSeconds)S to PT24H", pattern: "^P"),
            "at": .string("a time of day, HH:MM", pattern: "^([01][0-9]|2[0-3]):[0-5][0-9]$"),
            "timezone": .string("an IANA time zone name", maxLength: 64),
        ], required: ["below", "every"], closed: true)

    static let subscription = OpenAPISchema.object(
        [
            "countries": .array(.words(CountryCode.all.map(\.code) + ["*"], "a country code, or * alone for every country"), minItems: 1, maxItems: 249),
            "min_severity": .words(Severity.self), "threats": .array(.words(Threat.self), minItems: 1, maxItems: Threat.allCases.count),
            "digest": .ref("Digest"),
        ], required: ["countries", "min_severity"], closed: true)

    static let escalation = OpenAPISchema.object(
        [
            "min_severity": .words(Severity.self), "after_seconds": .integer(minimum: 1, maximum: EscalationPolicy.Limits.maxSeconds),
            "to": .array(.string("a subscriber id", maxLength: 64, pattern: "^sub_"), maxItems: EscalationPolicy.Limits.maxTargets),
            "remind_every_seconds": .integer(minimum: 1, maximum: EscalationPolicy.Limits.maxSeconds),
            "max_reminders": .integer(minimum: 0, maximum: Int64(EscalationPolicy.Limits.maxReminders)),
        ], required: ["after_seconds", "min_severity"], closed: true)

    typealias SubscriberLimits = SubscriberSubmission.Limits

    /// A subscriber as `POST`/`PUT /v1/subscribers` take it (`SubscriberSubmission`).
    static let subscriberSubmission = OpenAPISchema.object(
        [
            "name": text("its name", max: SubscriberLimits.text), "kind": .words(SubscriberKind.self),
            "organisation": text("its organisation", max: SubscriberLimits.text), "contact": email.described("who hears about its endpoints"),
            "clearance": .words(Confidentiality.self, "default public"), "language": language.described("default en"),
            "channels": .array(
                .oneOf([
                    .object(["type": .constant(Channel.Kind.webhook.rawValue), "url": webURL(max: SubscriberLimits.url), "id": .string()],
                        required: ["type", "url"], closed: true),
                    .object(["type": .constant(Channel.Kind.email.rawValue), "address": email, "id": .string()],
                        required: ["address", "type"], closed: true),
                ]), minItems: 1, maxItems: SubscriberLimits.channels),
            "subscriptions": .array(.ref("Subscription"), minItems: 1, maxItems: SubscriberLimits.subscriptions),
            "escalation": .ref("Escalation"), "reports": .boolean(), "ack_visibility": .words(AckVisibility.self, "default filer"),
        ], required: ["channels", "contact", "kind", "name", "organisation", "subscriptions"], closed: true)

    /// A subscriber as the API shows it; a webhook channel's `secret` only in the answer that made it.
    static let subscriber = OpenAPISchema.object(
        [
            "id": .string(pattern: "^sub_"), "name": .string(), "kind": .words(SubscriberKind.self), "organisation": .string(),
            "contact": .string(), "clearance": .words(Confidentiality.self), "language": .string(),
            "channels": .array(.object(
                [
                    "id": .string(), "type": .words(Channel.Kind.self), "url": .string(), "address": .string(),
                    "secret": .string("the whsec_ signing secret, shown once"),
                ], required: ["id", "type"])),
            "subscriptions": .array(.ref("Subscription")), "escalation": .ref("Escalation"), "reports": .boolean(),
            "ack_visibility": .words(AckVisibility.self),
        ],
        required: ["ack_visibility", "channels", "clearance", "contact", "id", "kind", "language", "name", "organisation", "reports", "subscriptions"])

    /// An acknowledgement as recorded.
    static let acknowledgement = OpenAPISchema.object(
        [
            "alert_id": .string(), "subscriber_id": .string(), "action": .words(AckAction.self), "at": time,
            "via": .words(Acknowledgement.Via.self), "first": .boolean("whether this is the subscriber's first acknowledgement of the alert"),
        ], required: ["action", "alert_id", "at", "first", "subscriber_id"])

    /// `ReplayProgress`.
    static let replayProgress = OpenAPISchema.object(
        [
            "id": .string(), "state": .words(["running", "done", "failed"]), "selection": .object([:]), "target": .object([:]),
            "cursor": .integer(minimum: 0), "scanned": .integer(minimum: 0), "alerts": .integer(minimum: 0), "deliveries": .integer(minimum: 0),
            "created_at": time, "updated_at": time, "error": .string(),
        ], required: ["alerts", "created_at", "cursor", "deliveries", "id", "scanned", "selection", "state", "target", "updated_at"])
}
