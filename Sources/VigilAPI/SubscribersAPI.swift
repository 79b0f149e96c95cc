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
    let feedTokens: FeedTokenStore
    let authenticator: Authenticator
    let audit: AuditTrail
    let policy: AddressPolicy
    let logger: Logger

    func register(on router: inout HTTPRouter) {
        router.add(Self.createOperation) { request, responder in save(request, responder, replacing: nil) }
        router.add(Self.listOperation) { request, responder in list(request, responder) }
        router.add(Self.readOperation) { request, responder in get(request, responder) }
        router.add(Self.replaceOperation) { request, responder in
            save(request, responder, replacing: request.pathParameters["id"])
        }
        router.add(Self.deleteOperation) { request, responder in delete(request, responder) }
        router.add(Self.rotateOperation) { request, responder in rotate(request, responder) }
    }

    /// The contract of each route `register` adds.
    static var operations: [APIOperation] { [createOperation, listOperation, readOperation, replaceOperation, deleteOperation, rotateOperation] }

    static let createOperation = APIOperation(
        "POST", "/v1/subscribers", id: "createSubscriber", tag: "subscribers",
        summary: "Add a subscriber; each new webhook channel gets a whsec_ secret, shown once", access: .token(.subscribersAdmin),
        body: [.json(.ref("SubscriberSubmission"))],
        responses: [.json(201, "added", .ref("Subscriber")), .validation("the subscriber is invalid (or a webhook URL points inside)")])

    static let listOperation = APIOperation(
        "GET", "/v1/subscribers", id: "listSubscribers", tag: "subscribers", summary: "Every subscriber", access: .token(.subscribersAdmin),
        responses: [.json(200, "the subscribers", .object(["subscribers": .array(.ref("Subscriber"))], required: ["subscribers"]))])

    static let readOperation = APIOperation(
        "GET", "/v1/subscribers/{id}", id: "readSubscriber", tag: "subscribers", summary: "One subscriber", access: .token(.subscribersAdmin),
        parameters: [.path("id", "the subscriber's id")],
        responses: [.json(200, "the subscriber", .ref("Subscriber")), .error(404, "no such subscriber")])

    static let replaceOperation = APIOperation(
        "PUT", "/v1/subscribers/{id}", id: "replaceSubscriber", tag: "subscribers",
        summary: "Replace a subscriber; channels that name their id keep it and their secret", access: .token(.subscribersAdmin),
        parameters: [.path("id", "the subscriber's id")], body: [.json(.ref("SubscriberSubmission"))],
        responses: [
            .json(200, "replaced", .ref("Subscriber")), .error(404, "no such subscriber"),
            .validation("the subscriber is invalid (or a webhook URL points inside)"),
        ])

    static let deleteOperation = APIOperation(
        "DELETE", "/v1/subscribers/{id}", id: "deleteSubscriber", tag: "subscribers", summary: "Remove a subscriber",
        access: .token(.subscribersAdmin), parameters: [.path("id", "the subscriber's id")],
        responses: [APIOperation.Response(204, "removed"), .error(404, "no such subscriber")])

    static let rotateOperation = APIOperation(
        "POST", "/v1/subscribers/{id}/channels/{channel}/rotate-secret", id: "rotateChannelSecret", tag: "subscribers",
        summary: "A new whsec_ secret for a webhook channel, shown once; the old one keeps signing for a day", access: .token(.subscribersAdmin),
        parameters: [.path("id", "the subscriber's id"), .path("channel", "the webhook channel's id")],
        responses: [
            .json(200, "the new secret", .object(
                ["channel_id": .string(), "secret": .string(pattern: "^whsec_"), "previous_valid_until": APIComponents.time],
                required: ["channel_id", "previous_valid_until", "secret"])),
            .error(404, "no such subscriber, or no such webhook channel"),
        ])

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

    /// The path every change goes through, shared with the console.
    private var editing: SubscriberEditing { SubscriberEditing(registry: registry, feedTokens: feedTokens, audit: audit, policy: policy, logger: logger) }

    private func save(_ request: HTTPRequest, _ responder: HTTPResponder, replacing id: String?) {
        guard let token = authorize(request, responder) else { return }
        switch editing.save(json: request.body, replacing: id, by: token) {
        case .success(let saved):
            responder.send(APIResponse.json(id == nil ? 201 : 200, SubscriberBody(saved.subscriber, secrets: saved.secrets)))
        case .failure(let error):
            responder.send(error.response)
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
        switch editing.rotateSecret(subscriberID: id, channelID: channelID, by: token) {
        case .success(let rotated):
            struct Rotated: Encodable { let channel_id: String; let secret: String; let previous_valid_until: String }
            responder.send(APIResponse.json(200, Rotated(
                channel_id: rotated.channelID, secret: rotated.secret, previous_valid_until: rotated.previousValidUntil.description)))
        case .failure(let error):
            responder.send(error.response)
        }
    }

    private func delete(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let token = authorize(request, responder) else { return }
        switch editing.delete(id: request.pathParameters["id"] ?? "", by: token) {
        case .success: responder.send(HTTPResponse(status: 204))
        case .failure(let error): responder.send(error.response)
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
