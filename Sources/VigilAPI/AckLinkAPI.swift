import VigilCore
import VigilDelivery
import VigilHTTP
import VigilStore

/// `GET /ack/{token}` and `POST /ack/{token}` (issue 19): the `ack_url` of every webhook and
/// email. No bearer token: the signed link is the credential, and refused links count against
/// the client address's failure throttle. `GET` only shows the confirmation page (mail
/// scanners open links) and changes nothing; `POST` (the page's form, or any HTTP client with
/// a form or JSON body, or none) records the acknowledgement with an optional `action` and `note`.
public struct AckLinkAPI: Sendable {
    let log: any AlertLog
    let acknowledger: Acknowledger
    let subscribers: SubscriberRegistry
    let authenticator: Authenticator
    /// The key links are signed with: `masterKey.derivedKey("vigil/ack-links")`.
    let key: [UInt8]

    /// Adds the routes to `router`.
    public func register(on router: inout HTTPRouter) {
        router.add(Self.showOperation) { request, responder in show(request, responder) }
        router.add(Self.recordOperation) { request, responder in record(request, responder) }
    }

    /// The contract of each route `register` adds.
    static var operations: [APIOperation] { [showOperation, recordOperation] }

    /// An error as the API's JSON or, for forms and browsers, as a page.
    private static func refused(_ status: Int, _ description: String) -> APIOperation.Response {
        APIOperation.Response(status, description, [.json(.ref("Error")), .html])
    }

    static let showOperation = APIOperation(
        "GET", "/ack/{token}", id: "showAckLink", tag: "acknowledgement links",
        summary: "The confirmation page of a signed acknowledgement link (changes nothing: mail scanners open links)", access: .secretInPath,
        parameters: [.path("token", "the signed link token")],
        responses: [
            APIOperation.Response(200, "the confirmation page", [.html]),
            refused(404, "the link is not genuine, or its alert or subscriber no longer exists"),
            refused(410, "the link has expired"),
            refused(429, "this address presented too many refused links"),
            refused(503, "the alert cannot be read right now"),
        ])

    static let recordOperation = APIOperation(
        "POST", "/ack/{token}", id: "recordAckLink", tag: "acknowledgement links",
        summary: "Record the acknowledgement a signed link names, with an optional action and note", access: .secretInPath,
        parameters: [.path("token", "the signed link token")],
        body: [
            .json(.object(
                ["action": .words(AckAction.self).orNull, "note": APIComponents.note.orNull], closed: true)),
            APIOperation.Content(mediaType: "application/x-www-form-urlencoded", schema: .object(
                ["action": .words(AckAction.self), "note": APIComponents.note])),
        ], bodyRequired: false,
        responses: [
            APIOperation.Response(200, "acknowledged again", [.json(.ref("Acknowledgement")), .html]),
            APIOperation.Response(201, "the subscriber's first acknowledgement", [.json(.ref("Acknowledgement")), .html]),
            refused(400, "the form is not UTF-8"),
            refused(404, "the link is not genuine, or its alert or subscriber no longer exists"),
            refused(409, "the action contradicts the filer's handling instruction"),
            refused(410, "the link has expired"),
            refused(415, "the body is neither a form, JSON nor empty"),
            refused(422, "the action or note is invalid"),
            refused(429, "this address presented too many refused links"),
            refused(503, "the acknowledgement cannot be recorded right now"),
        ])

    /// What a request's link names, or the page or JSON that refuses it.
    private enum Resolution {
        case found(StoredAlert, Subscriber)
        case refused(HTTPResponse)
    }

    /// The alert and subscriber a request's link names, or the page or JSON that refuses it.
    private func resolve(_ request: HTTPRequest, html: Bool) -> Resolution {
        if let error = authenticator.throttle(request) { return .refused(refusal(error, html: html)) }
        let link: AckLink
        switch AckLink.verify(request.pathParameters["token"] ?? "", key: key, now: .now()) {
        case .success(let verified): link = verified
        case .failure(.expired):
            return .refused(refusal(.gone(AckLink.Refusal.expired.description), html: html))
        case .failure(.invalid):
            authenticator.recordFailure(of: request)
            return .refused(refusal(.notFound(AckLink.Refusal.invalid.description), html: html))
        }
        do {
            guard let stored = try log.alert(id: link.alertID), let subscriber = try subscribers.subscriber(id: link.subscriberID) else {
                return .refused(refusal(.notFound("the alert or the subscriber of this link no longer exists"), html: html))
            }
            return .found(stored, subscriber)
        } catch {
            return .refused(refusal(.unavailable("the alert cannot be read right now; try again in a moment"), html: html))
        }
    }

    func show(_ request: HTTPRequest, _ responder: HTTPResponder) {
        switch resolve(request, html: true) {
        case .refused(let response): responder.send(response)
        case .found(let stored, let subscriber):
            let existing = try? acknowledger.ledger.acknowledgements(ofAlert: stored.alert.id).first { $0.subscriberID == subscriber.id }
            responder.send(AckPage.confirmation(alert: stored.alert, subscriber: subscriber, existing: existing ?? nil))
        }
    }

    func record(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let type = request.headers["content-type"]?.lowercased() ?? ""
        let form = type.hasPrefix("application/x-www-form-urlencoded")
        let html = form || (request.headers["accept"]?.lowercased().contains("text/html") ?? false)
        let stored: StoredAlert, subscriber: Subscriber
        switch resolve(request, html: html) {
        case .refused(let response): return responder.send(response)
        case .found(let found, let owner): (stored, subscriber) = (found, owner)
        }
        var action: String?, note: String?
        if form {
            // The form body has the syntax of a query string.
            guard let text = String(validating: request.body, as: UTF8.self) else {
                return responder.send(refusal(.badRequest("the form is not UTF-8"), html: html, language: subscriber.language))
            }
            let fields = HTTPRequest(method: "POST", target: "/?" + text).query
            (action, note) = (fields["action"], fields["note"])
        } else if !request.body.isEmpty {
            guard type.isEmpty || type.hasPrefix("application/json") else {
                return responder.send(refusal(
                    .unsupportedMediaType("send application/x-www-form-urlencoded, application/json or no body"), html: html))
            }
            guard case .object(let fields)? = try? JSONParser.parse(request.body) else {
                return responder.send(refusal(.validation(ValidationFailure([FieldError("body", "must be a JSON object with optional action and note")])), html: html))
            }
            var problems: [FieldError] = []
            for (name, value) in fields {
                switch (name, value) {
                case ("action", .string(let text)): action = text
                case ("note", .string(let text)): note = text
                case ("action", .null), ("note", .null): break
                case ("action", _), ("note", _): problems.append(FieldError(name, "must be a string"))
                default: problems.append(FieldError(name, "is not a field of an acknowledgement (action, note)"))
                }
            }
            guard problems.isEmpty else { return responder.send(refusal(.validation(ValidationFailure(problems)), html: html)) }
        }
        let checked: Acknowledger.Request
        switch Acknowledger.request(action: action, note: note) {
        case .success(let parsed): checked = parsed
        case .failure(let failure): return responder.send(refusal(.validation(failure), html: html, language: subscriber.language))
        }
        let actor = Acknowledger.Actor(tokenID: "ack_link", organisation: subscriber.organisation)
        switch acknowledger.acknowledge(checked, on: stored, by: subscriber, via: .link, actor: actor) {
        case .failure(let error):
            if case .handlingConflict = error, html {
                return responder.send(AckPage.refusal(409, message: AckPage.words(subscriber.language).refusedBy, language: subscriber.language))
            }
            responder.send(refusal(error, html: html, language: subscriber.language))
        case .success(let (ack, first)):
            if html { return responder.send(AckPage.recorded(ack, first: first, language: subscriber.language)) }
            var w = JSONWriter(capacity: 200)
            w.beginObject()
            w.field("alert_id", ack.alertID)
            w.field("subscriber_id", ack.subscriberID)
            w.field("action", ack.action.rawValue)
            w.field("at", ack.at.description)
            w.key("first")
            w.bool(first)
            w.endObject()
            var response = APIResponse.json(first ? 201 : 200, bytes: w.bytes)
            for (name, value) in AckPage.securityHeaders { response.headers.set(name, value) }
            responder.send(response)
        }
    }

    /// `error` as a page (forms and browsers) or as the API's JSON, with the pages' headers.
    private func refusal(_ error: APIError, html: Bool, language: String = "en") -> HTTPResponse {
        var response = error.response
        if html {
            let words = AckPage.words(language)
            let message: String =
                switch error {
                case .notFound: words.invalid
                case .gone: words.expired
                case .validation(let failure): failure.description
                case .handlingConflict(_, let message), .badRequest(let message), .unsupportedMediaType(let message), .unavailable(let message):
                    message
                case .tooManyFailures(let seconds): "too many refused links from this address; try again in \(seconds) s"
                default: String(decoding: response.body, as: UTF8.self)
                }
            var page = AckPage.refusal(response.status, message: message, language: language)
            if let retry = response.headers["retry-after"] { page.headers.set("retry-after", retry) }
            return page
        }
        for (name, value) in AckPage.securityHeaders { response.headers.set(name, value) }
        return response
    }
}
