import VigilCore
import VigilDelivery
import VigilObservability
import VigilStore

/// Creates, replaces and rotates the secrets of subscribers for a caller: the one path behind
/// `POST`/`PUT /v1/subscribers` and `rotate-secret`, and the console's subscriptions page,
/// so both validate with `SubscriberSubmission`, check webhook addresses against the
/// `AddressPolicy`, refuse changes above the caller's clearance and audit the same way. The
/// caller turns the outcome into its own answer (JSON or a page).
public struct SubscriberEditing: Sendable {
    let registry: SubscriberRegistry
    let feedTokens: FeedTokenStore
    let audit: AuditTrail
    let policy: AddressPolicy
    let logger: Logger

    /// Changes to the subscribers of `registry`, recorded in `audit`; webhook URLs checked by
    /// `policy`; a deleted subscriber's feed token revoked in `feedTokens`.
    public init(registry: SubscriberRegistry, feedTokens: FeedTokenStore, audit: AuditTrail, policy: AddressPolicy, logger: Logger) {
        self.registry = registry
        self.feedTokens = feedTokens
        self.audit = audit
        self.policy = policy
        self.logger = logger
    }

    /// A stored subscriber and the signing secrets of its new webhook channels, shown once.
    public struct Saved: Sendable {
        /// The subscriber as stored.
        public let subscriber: Subscriber
        /// `whsec_` secrets of webhook channels made by this save, by channel id.
        public let secrets: [String: String]
    }

    /// A webhook channel's new signing secret, shown once.
    public struct RotatedSecret: Sendable {
        /// The channel whose secret changed.
        public let channelID: String
        /// The new `whsec_` secret.
        public let secret: String
        /// Until when the previous secret still signs, as a second signature.
        public let previousValidUntil: Timestamp
    }

    /// Stores the subscriber in `json` (the body of `POST`, or of `PUT` when `id` names the
    /// subscriber it replaces) for `caller`. The existing subscriber is looked up and its
    /// clearance checked before the body is read, as the API always did.
    public func save(json: [UInt8], replacing id: String?, by caller: TokenRecord) -> Result<Saved, APIError> {
        save(replacing: id, by: caller) { () throws(ValidationFailure) -> JSONValue in try SubscriberSubmission(json: json).body }
    }

    /// Stores the subscriber `body` (already parsed) for `caller`, replacing subscriber `id` when given.
    public func save(body: JSONValue, replacing id: String?, by caller: TokenRecord) -> Result<Saved, APIError> {
        save(replacing: id, by: caller) { () throws(ValidationFailure) -> JSONValue in body }
    }

    private func save(replacing id: String?, by caller: TokenRecord, _ body: () throws(ValidationFailure) -> JSONValue) -> Result<Saved, APIError> {
        do {
            var existing: Subscriber?
            if let id {
                existing = try registry.subscriber(id: id)
                guard existing != nil else { return .failure(.notFound("no subscriber with id '\(id)'")) }
            }
            if let existing, let refusal = refusal(caller, acting: "replace", on: existing.clearance, target: existing.id) {
                return .failure(refusal)
            }
            let body = try body()
            if let wanted = Self.clearance(in: body), let refusal = refusal(caller, acting: id == nil ? "create" : "replace", on: wanted, target: id ?? "new") {
                return .failure(refusal)
            }
            let (subscriber, secrets) = try SubscribersAPI.store(body, replacing: existing, in: registry, policy: policy)
            logger.info(id == nil ? "subscriber created" : "subscriber replaced", ["subscriber": subscriber.id])
            audit.record([AuditEntry(caller, .subscriberSaved, target: subscriber.id, detail: id == nil ? "created" : "replaced")])
            return .success(Saved(subscriber: subscriber, secrets: secrets))
        } catch let failure as ValidationFailure {
            return .failure(.validation(failure))
        } catch {
            return .failure(.unavailable("the subscriber could not be stored: \(error)"))
        }
    }

    /// A new `whsec_` secret for webhook channel `channelID` of subscriber `subscriberID`,
    /// shown once; the old one keeps signing, as a second signature, for a day so the
    /// receiver can switch without losing messages.
    public func rotateSecret(subscriberID id: String, channelID: String, by caller: TokenRecord) -> Result<RotatedSecret, APIError> {
        do {
            guard let subscriber = try registry.subscriber(id: id), subscriber.channels.contains(where: { $0.id == channelID && $0.type == .webhook }) else {
                return .failure(.notFound("subscriber '\(id)' has no webhook channel '\(channelID)'"))
            }
            if let refusal = refusal(caller, acting: "rotate a secret of", on: subscriber.clearance, target: id) { return .failure(refusal) }
            let secret = WebhookSecret.generate().description
            guard try registry.rotate(channelID: channelID, newSecret: secret) else {
                return .failure(.notFound("channel '\(channelID)' has no secret to rotate"))
            }
            logger.info("webhook secret rotated", ["subscriber": id, "channel": channelID])
            audit.record([AuditEntry(caller, .secretRotated, target: id, detail: "channel \(channelID)")])
            let until = Timestamp.now().adding(milliseconds: SubscriberRegistry.rotationOverlapMilliseconds)
            return .success(RotatedSecret(channelID: channelID, secret: secret, previousValidUntil: until))
        } catch {
            return .failure(.unavailable("the secret could not be rotated: \(error)"))
        }
    }

    /// Deletes subscriber `id` for `caller`; `.notFound` when there is none.
    public func delete(id: String, by caller: TokenRecord) -> Result<Void, APIError> {
        do {
            if let existing = try registry.subscriber(id: id), let refusal = refusal(caller, acting: "delete", on: existing.clearance, target: id) {
                return .failure(refusal)
            }
            guard try registry.delete(id: id) else { return .failure(.notFound("no subscriber with id '\(id)'")) }
            logger.info("subscriber deleted", ["subscriber": id])
            // Its feed URL already answers 404 (no subscriber); the token goes too, so nothing of it stays.
            do { _ = try feedTokens.revoke(subscriberID: id) } catch {
                logger.error("a deleted subscriber's feed token could not be revoked", ["subscriber": id, "reason": "\(error)"])
            }
            audit.record([AuditEntry(caller, .subscriberDeleted, target: id)])
            return .success(())
        } catch {
            return .failure(.unavailable("the subscriber could not be deleted: \(error)"))
        }
    }

    /// `subscriber` as the JSON body `PUT /v1/subscribers/{id}` takes: every field it has,
    /// channels by id (so they are kept, with their secrets), no id and no secrets. A page
    /// changes some fields of it and saves it back through `save(body:replacing:by:)`.
    public static func body(of subscriber: Subscriber) -> JSONValue {
        var fields: [String: JSONValue] = [
            "name": .string(subscriber.name), "kind": .string(subscriber.kind.rawValue), "organisation": .string(subscriber.organisation),
            "contact": .string(subscriber.contact), "clearance": .string(subscriber.clearance.rawValue), "language": .string(subscriber.language),
            "reports": .bool(subscriber.reports), "ack_visibility": .string(subscriber.ackVisibility.rawValue),
        ]
        fields["channels"] = .array(subscriber.channels.map { channel in
            var object: [String: JSONValue] = ["id": .string(channel.id), "type": .string(channel.type.rawValue)]
            if let url = channel.url { object["url"] = .string(url) }
            if let address = channel.address { object["address"] = .string(address) }
            return .object(object)
        })
        fields["subscriptions"] = .array(subscriber.subscriptions.map { subscription in
            var object: [String: JSONValue] = [
                "countries": .array((subscription.allCountries ? ["*"] : subscription.countries.map(\.code).sorted()).map { .string($0) }),
                "min_severity": .string(subscription.minSeverity.rawValue),
            ]
            if let threats = subscription.threats { object["threats"] = .array(threats.map(\.rawValue).sorted().map { .string($0) }) }
            if let digest = subscription.digest {
                object["digest"] = .object([
                    "below": .string(digest.below.rawValue), "every": .string(digest.every.iso8601), "at": .string(digest.at.description),
                    "timezone": .string(digest.timezone),
                ])
            }
            return .object(object)
        })
        if let escalation = subscriber.escalation {
            var object: [String: JSONValue] = [
                "min_severity": .string(escalation.minSeverity.rawValue), "after_seconds": .number(Double(escalation.afterSeconds)),
                "to": .array(escalation.to.map { .string($0) }), "max_reminders": .number(Double(escalation.maxReminders)),
            ]
            if let remind = escalation.remindEverySeconds { object["remind_every_seconds"] = .number(Double(remind)) }
            fields["escalation"] = .object(object)
        }
        return .object(fields)
    }

    /// The clearance a subscriber body asks for (absent: the submission's default, public).
    static func clearance(in body: JSONValue) -> Confidentiality? {
        guard case .object(let fields) = body, case .string(let text)? = fields["clearance"] else { return nil }
        return Confidentiality(rawValue: text)
    }

    /// The `.forbidden` (audited) when `caller` would be `acting` on a subscriber of clearance
    /// `level` above its own: a caller never makes or changes a reader that may see more than it may.
    private func refusal(_ caller: TokenRecord, acting: String, on level: Confidentiality, target: String) -> APIError? {
        guard !caller.clearance.clears(level) else { return nil }
        audit.record([AuditEntry(
            caller, .accessRefused, target: target,
            detail: "\(acting) of a \(level.rawValue) subscriber refused to a token of \(caller.clearance.rawValue) clearance")])
        logger.warning("subscriber change above the token's clearance refused", ["token": caller.id, "action": acting])
        return .forbidden("a token of \(caller.clearance.rawValue) clearance cannot \(acting) a subscriber of \(level.rawValue) clearance")
    }
}
