import Foundation
import VigilCore
import VigilDelivery
import VigilHTTP
import VigilObservability
import VigilStore

/// `POST/GET/PUT/DELETE /v1/subscribers` (scope `subscribers:admin`). New webhook channels
/// get a `whsec_` signing secret, shown once in the answer that created them.
public struct SubscribersAPI: Sendable {
    let registry: SubscriberRegistry
    let authenticator: Authenticator
    let audit: AuditTrail
    let policy: AddressPolicy
    let logger: Logger

    func register(on router: inout HTTPRouter) {
        router.add("POST", "/v1/subscribers") { request, responder in save(request, responder, replacing: nil) }
        router.add("GET", "/v1/subscribers") { request, responder in list(request, responder) }
        router.add("GET", "/v1/subscribers/{id}") { request, responder in get(request, responder) }
        router.add("PUT", "/v1/subscribers/{id}") { request, responder in
            save(request, responder, replacing: request.pathParameters["id"])
        }
        router.add("DELETE", "/v1/subscribers/{id}") { request, responder in delete(request, responder) }
        router.add("POST", "/v1/subscribers/{id}/channels/{channel}/rotate-secret") { request, responder in rotate(request, responder) }
    }

    /// Validates and stores a subscriber; the one place that creates ids and secrets, used
    /// by the API, by seeding from `config/subscribers.json` and by `vigil bench`. Webhook URLs go through the
    /// SSRF guard here and again at every send; a host that does not resolve yet is let
    /// through (the send will check it), an internal address or plain http is refused.
    public static func store(
        _ body: JSONValue, replacing existing: Subscriber?, in registry: SubscriberRegistry, policy: AddressPolicy
    ) throws -> (Subscriber, [String: String]) {
        let subscriber = try SubscriberSubmission(body: body).validate(
            id: existing?.id ?? "sub_" + ULID().description.lowercased(),
            existingChannels: Set(existing?.channels.map(\.id) ?? []),
            newChannelID: { "chn_" + ULID().description.lowercased() })
        let refusals = subscriber.channels.enumerated().compactMap { index, channel -> FieldError? in
            guard channel.type == .webhook, let url = channel.url, case .failure(let refusal) = policy.check(url) else { return nil }
            if case .unresolvable = refusal { return nil }
            return FieldError("channels[\(index)].url", refusal.description)
        }
        guard refusals.isEmpty else { throw ValidationFailure(refusals) }
        let known = Set(existing?.channels.map(\.id) ?? [])
        var secrets: [String: String] = [:]
        for channel in subscriber.channels where channel.type == .webhook && !known.contains(channel.id) {
            secrets[channel.id] = WebhookSecret.generate().description
        }
        try registry.save(subscriber, newSecrets: secrets)
        return (subscriber, secrets)
    }

    private func authorize(_ request: HTTPRequest, _ responder: HTTPResponder) -> TokenRecord? {
        authenticator.require(.subscribersAdmin, request, responder)
    }

    /// The clearance a subscriber body asks for (absent: the submission's default, public).
    static func clearance(in body: JSONValue) -> Confidentiality? {
        guard case .object(let fields) = body, case .string(let text)? = fields["clearance"] else { return nil }
        return Confidentiality(rawValue: text)
    }

    /// The `403` (audited) when `token` would `acting` on a subscriber of clearance `level`
    /// above its own: a token never makes or changes a reader that may see more than it may.
    private func refusal(_ token: TokenRecord, acting: String, on level: Confidentiality, target: String) -> APIError? {
        guard !token.clearance.clears(level) else { return nil }
        audit.record([AuditEntry(
            token, .accessRefused, target: target,
            detail: "\(acting) of a \(level.rawValue) subscriber refused to a token of \(token.clearance.rawValue) clearance")])
        logger.warning("subscriber change above the token's clearance refused", ["token": token.id, "action": acting])
        return .forbidden("a token of \(token.clearance.rawValue) clearance cannot \(acting) a subscriber of \(level.rawValue) clearance")
    }

    private func save(_ request: HTTPRequest, _ responder: HTTPResponder, replacing id: String?) {
        guard let token = authorize(request, responder) else { return }
        do {
            var existing: Subscriber?
            if let id {
                existing = try registry.subscriber(id: id)
                guard existing != nil else { return responder.send(APIError.notFound("no subscriber with id '\(id)'").response) }
            }
            if let existing, let refusal = refusal(token, acting: "replace", on: existing.clearance, target: existing.id) {
                return responder.send(refusal.response)
            }
            let body = try SubscriberSubmission(json: request.body).body
            if let wanted = Self.clearance(in: body), let refusal = refusal(token, acting: id == nil ? "create" : "replace", on: wanted, target: id ?? "new") {
                return responder.send(refusal.response)
            }
            let (subscriber, secrets) = try Self.store(body, replacing: existing, in: registry, policy: policy)
            logger.info(id == nil ? "subscriber created" : "subscriber replaced", ["subscriber": subscriber.id])
            audit.record([AuditEntry(token, .subscriberSaved, target: subscriber.id, detail: id == nil ? "created" : "replaced")])
            responder.send(APIResponse.json(id == nil ? 201 : 200, SubscriberBody(subscriber, secrets: secrets)))
        } catch let failure as ValidationFailure {
            responder.send(APIError.validation(failure).response)
        } catch {
            responder.send(APIError.unavailable("the subscriber could not be stored: \(error)").response)
        }
    }

    private func list(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard authorize(request, responder) != nil else { return }
        do {
            struct Listing: Encodable { let subscribers: [SubscriberBody] }
            responder.send(APIResponse.json(200, Listing(subscribers: try registry.list().map { SubscriberBody($0, secrets: [:]) })))
        } catch {
            responder.send(APIError.unavailable("the subscribers cannot be read right now").response)
        }
    }

    private func get(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard authorize(request, responder) != nil else { return }
        let id = request.pathParameters["id"] ?? ""
        do {
            guard let subscriber = try registry.subscriber(id: id) else {
                return responder.send(APIError.notFound("no subscriber with id '\(id)'").response)
            }
            responder.send(APIResponse.json(200, SubscriberBody(subscriber, secrets: [:])))
        } catch {
            responder.send(APIError.unavailable("the subscriber cannot be read right now").response)
        }
    }

    /// A new `whsec_` secret for a webhook channel, shown once; the old one keeps signing,
    /// as a second signature, for a day so the receiver can switch without losing messages.
    private func rotate(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let token = authorize(request, responder) else { return }
        let id = request.pathParameters["id"] ?? "", channelID = request.pathParameters["channel"] ?? ""
        do {
            guard let subscriber = try registry.subscriber(id: id), subscriber.channels.contains(where: { $0.id == channelID && $0.type == .webhook }) else {
                return responder.send(APIError.notFound("subscriber '\(id)' has no webhook channel '\(channelID)'").response)
            }
            if let refusal = refusal(token, acting: "rotate a secret of", on: subscriber.clearance, target: id) { return responder.send(refusal.response) }
            let secret = WebhookSecret.generate().description
            guard try registry.rotate(channelID: channelID, newSecret: secret) else {
                return responder.send(APIError.notFound("channel '\(channelID)' has no secret to rotate").response)
            }
            logger.info("webhook secret rotated", ["subscriber": id, "channel": channelID])
            audit.record([AuditEntry(token, .secretRotated, target: id, detail: "channel \(channelID)")])
            struct Rotated: Encodable { let channel_id: String; let secret: String; let previous_valid_until: String }
            let until = Timestamp.now().adding(milliseconds: SubscriberRegistry.rotationOverlapMilliseconds).description
            responder.send(APIResponse.json(200, Rotated(channel_id: channelID, secret: secret, previous_valid_until: until)))
        } catch {
            responder.send(APIError.unavailable("the secret could not be rotated: \(error)").response)
        }
    }

    private func delete(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let token = authorize(request, responder) else { return }
        let id = request.pathParameters["id"] ?? ""
        do {
            if let existing = try registry.subscriber(id: id), let refusal = refusal(token, acting: "delete", on: existing.clearance, target: id) {
                return responder.send(refusal.response)
            }
            guard try registry.delete(id: id) else { return responder.send(APIError.notFound("no subscriber with id '\(id)'").response) }
            logger.info("subscriber deleted", ["subscriber": id])
            audit.record([AuditEntry(token, .subscriberDeleted, target: id)])
            responder.send(HTTPResponse(status: 204))
        } catch {
            responder.send(APIError.unavailable("the subscriber could not be deleted: \(error)").response)
        }
    }
}

/// A subscriber as the API shows it; `secret` appears on webhook channels only in the
/// answer that created them.
struct SubscriberBody: Encodable {
    struct ChannelBody: Encodable {
        let id: String
        let type: String
        let url: String?
        let address: String?
        let secret: String?
    }

    let id: String
    let name: String
    let kind: String
    let organisation: String
    let contact: String
    let clearance: String
    let language: String
    let channels: [ChannelBody]
    let subscriptions: [Subscription]
    /// Who gets the alert when this subscriber does not acknowledge in time, if anyone.
    let escalation: EscalationPolicy?
    /// Whether it is told of its own organisation's alerts being acknowledged or escalated.
    let reports: Bool
    /// Who sees its acknowledgements on a case's board besides the filer and operators.
    let ack_visibility: String

    init(_ s: Subscriber, secrets: [String: String]) {
        id = s.id
        name = s.name
        kind = s.kind.rawValue
        organisation = s.organisation
        contact = s.contact
        clearance = s.clearance.rawValue
        language = s.language
        channels = s.channels.map { ChannelBody(id: $0.id, type: $0.type.rawValue, url: $0.url, address: $0.address, secret: secrets[$0.id]) }
        subscriptions = s.subscriptions
        escalation = s.escalation
        reports = s.reports
        ack_visibility = s.ackVisibility.rawValue
    }
}
