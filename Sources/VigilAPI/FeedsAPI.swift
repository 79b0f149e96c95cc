import VigilCore
import VigilHTTP
import VigilObservability
import VigilStore

/// Atom feeds a desk can pull (issue 21): `POST /v1/subscribers/{id}/feed-token` makes a
/// subscriber's secret feed URL; `GET /feeds/{feed_token}/alerts.atom` lists the newest 100
/// alerts routed to that subscriber at its clearance, with no `Authorization` header (feed
/// readers cannot send one; refused tokens count against the address's failure throttle);
/// `GET /v1/feeds/alerts.atom` lists the log's newest 100 for a bearer token at its
/// clearance; each entry links to the alert's CAP 1.2 form through the same secret
/// (`/feeds/{feed_token}/alerts/{id}.cap`). Every fetch is audited, naming the alerts it returned.
public struct FeedsAPI: Sendable {
    let log: any AlertLog
    let deliveries: any DeliveryLedger
    let subscribers: SubscriberRegistry
    let feedTokens: FeedTokenStore
    let authenticator: Authenticator
    let audit: AuditTrail
    /// The base of feed URLs (`public_url`, or the address the server bound).
    let publicURL: @Sendable () -> String
    let logger: Logger

    /// Adds the routes to `router`.
    public func register(on router: inout HTTPRouter) {
        router.add(Self.makeTokenOperation) { request, responder in makeToken(request, responder) }
        router.add(Self.subscriberFeedOperation) { request, responder in subscriberFeed(request, responder) }
        router.add(Self.subscriberCAPOperation) { request, responder in subscriberCAP(request, responder) }
        router.add(Self.tokenFeedOperation) { request, responder in tokenFeed(request, responder) }
    }

    /// The contract of each route `register` adds.
    static var operations: [APIOperation] { [makeTokenOperation, subscriberFeedOperation, subscriberCAPOperation, tokenFeedOperation] }

    private static let atom = APIOperation.Content(mediaType: "application/atom+xml", schema: .string("an Atom 1.0 feed"))
    private static let etag = ["etag": APIOperation.Header("the feed's entity tag, for If-None-Match", required: true)]
    private static let ifNoneMatch = APIOperation.Parameter.header("If-None-Match", "the ETag of the feed the reader holds", .string())
    private static let countryFilter = APIOperation.Parameter.query("country", "only this country", APIComponents.country)

    static let makeTokenOperation = APIOperation(
        "POST", "/v1/subscribers/{id}/feed-token", id: "makeFeedToken", tag: "feeds",
        summary: "A new secret feed URL for a subscriber, replacing its old one at once; shown this once", access: .token(.subscribersAdmin),
        parameters: [.path("id", "the subscriber's id")],
        responses: [
            .json(201, "the feed token and URL", .object(
                ["feed_token": .string(), "feed_url": .string(format: "uri")], required: ["feed_token", "feed_url"])),
            .error(403, "the token is of another organisation (and no operator's), or its clearance is below the subscriber's"),
            .error(404, "no such subscriber"),
        ])

    static let subscriberFeedOperation = APIOperation(
        "GET", "/feeds/{token}/alerts.atom", id: "subscriberFeed", tag: "feeds",
        summary: "The newest \(AlertFeed.maxEntries) alerts routed to the feed's subscriber, at its clearance (no Authorization: the URL is the secret)",
        access: .secretInPath, parameters: [.path("token", "the feed token"), countryFilter, ifNoneMatch],
        responses: [
            APIOperation.Response(200, "the feed", [atom], headers: etag),
            APIOperation.Response(304, "unchanged since If-None-Match", headers: etag),
            .error(400, "country is not a country code"),
            .error(404, "no feed at this address (counted against the address's failure throttle)"),
        ])

    static let subscriberCAPOperation = APIOperation(
        "GET", "/feeds/{token}/alerts/{file}", id: "subscriberFeedCAP", tag: "feeds",
        summary: "The CAP 1.2 form ({id}.cap) of an alert in the feed, at the subscriber's clearance", access: .secretInPath,
        parameters: [.path("token", "the feed token"), .path("file", "the alert's id and .cap")],
        responses: [
            APIOperation.Response(200, "the CAP document", [APIOperation.Content(mediaType: CAPDocument.mediaType, schema: .string())]),
            .error(404, "no feed at this address, or no such alert in it"),
        ])

    static let tokenFeedOperation = APIOperation(
        "GET", "/v1/feeds/alerts.atom", id: "tokenFeed", tag: "feeds",
        summary: "The log's newest \(AlertFeed.maxEntries) alerts at the token's clearance", access: .token(.alertsRead),
        parameters: [countryFilter, ifNoneMatch],
        responses: [
            APIOperation.Response(200, "the feed", [atom], headers: etag),
            APIOperation.Response(304, "unchanged since If-None-Match", headers: etag),
            .error(400, "country is not a country code"),
        ])

    /// A new feed token for the subscriber, replacing its old one at once: `201
    /// {"feed_token", "feed_url"}`, the token shown this once. For `subscribers:admin` tokens
    /// of the subscriber's organisation, or operators, whose clearance covers the subscriber's.
    func makeToken(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let caller = authenticator.require(.subscribersAdmin, request, responder) else { return }
        let id = request.pathParameters["id"] ?? ""
        do {
            guard let subscriber = try subscribers.subscriber(id: id) else {
                return responder.send(APIError.notFound("no subscriber with id '\(id)'").response)
            }
            let reason: String? =
                if !caller.isOperator && caller.organisation != subscriber.organisation {
                    "only the subscriber's organisation or an operator can make its feed token"
                } else if !caller.clearance.clears(subscriber.clearance) {
                    "a token of \(caller.clearance.rawValue) clearance cannot make the feed of a \(subscriber.clearance.rawValue) subscriber"
                } else { nil }
            if let reason {
                audit.record([AuditEntry(caller, .accessRefused, target: id, detail: "feed token: \(reason)")])
                return responder.send(APIError.forbidden(reason).response)
            }
            let secret = try feedTokens.rotate(subscriberID: id)
            logger.info("feed token made", ["subscriber": id])
            audit.record([AuditEntry(caller, .secretRotated, target: id, detail: "feed token made; any earlier feed URL stops working")])
            struct Made: Encodable { let feed_token: String; let feed_url: String }
            responder.send(APIResponse.json(201, Made(feed_token: secret, feed_url: "\(publicURL())/feeds/\(secret)/alerts.atom")))
        } catch {
            responder.send(APIError.unavailable("the feed token could not be made right now; try again").response)
        }
    }

    /// The subscriber whose feed secret the request's path carries, or the response that
    /// refuses it: `429` over the address's failure limit, `404` (counted against the address)
    /// for an unknown or replaced secret.
    private func feedSubscriber(_ request: HTTPRequest) -> Result<Subscriber, APIError> {
        if let error = authenticator.throttle(request) { return .failure(error) }
        do {
            guard let id = try feedTokens.subscriberID(forSecret: request.pathParameters["token"] ?? ""),
                let found = try subscribers.subscriber(id: id)
            else {
                authenticator.recordFailure(of: request)
                return .failure(.notFound("no feed at this address; it may have been replaced by a new feed token"))
            }
            return .success(found)
        } catch {
            return .failure(.unavailable("the feed cannot be read right now; try again"))
        }
    }

    /// The subscriber's feed, through the secret in its URL.
    func subscriberFeed(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let secret = request.pathParameters["token"] ?? ""
        let subscriber: Subscriber
        switch feedSubscriber(request) {
        case .failure(let error): return responder.send(error.response)
        case .success(let found): subscriber = found
        }
        let country: CountryCode?
        switch Self.country(request) {
        case .failure(let error): return responder.send(error.response)
        case .success(let parsed): country = parsed
        }
        let base = publicURL()
        let reader = AlertFeed.Reader(
            feedID: "urn:vigil:feed:\(subscriber.id)" + (country.map { ":\($0.code)" } ?? ""),
            title: "Vigil — \(subscriber.name)" + (country.map { " — \($0.name)" } ?? ""),
            selfURL: "\(base)/feeds/\(secret)/alerts.atom" + (country.map { "?country=\($0.code)" } ?? ""),
            clearance: subscriber.clearance, language: subscriber.language,
            capURL: { "\(base)/feeds/\(secret)/alerts/\($0).cap" })
        let alerts: [StoredAlert]
        do {
            let ids = try deliveries.alertIDs(routedTo: subscriber.id, limit: country == nil ? AlertFeed.maxEntries : AlertFeed.countryScan)
            alerts = try AlertFeed.alerts(ids, country: country, in: log)
        } catch {
            return responder.send(APIError.unavailable("the feed cannot be read right now; try again").response)
        }
        responder.send(answer(
            alerts, reader: reader, request: request,
            actor: AuditEntry(tokenID: "feed:\(subscriber.id)", organisation: subscriber.organisation, action: .alertRead, target: ""),
            country: country))
    }

    /// `GET /feeds/{feed_token}/alerts/{id}.cap`: the CAP 1.2 form of an alert routed to the
    /// feed's subscriber, at its clearance, the document `GET /v1/alerts/{id}` answers to
    /// `Accept: application/cap+xml`; audited like a feed fetch. Any other alert is a `404`.
    func subscriberCAP(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let subscriber: Subscriber
        switch feedSubscriber(request) {
        case .failure(let error): return responder.send(error.response)
        case .success(let found): subscriber = found
        }
        let file = request.pathParameters["file"] ?? ""
        guard file.hasSuffix(".cap") else { return responder.send(APIError.notFound("an alert's CAP form is at alerts/{id}.cap").response) }
        let id = String(file.dropLast(4))
        do {
            // Only what the feed could list: an alert routed to this subscriber, not skipped.
            guard try deliveries.deliveries(ofAlert: id).contains(where: { $0.subscriberID == subscriber.id && $0.state != .skipped }),
                let stored = try log.alert(id: id)
            else { return responder.send(APIError.notFound("no alert '\(id)' in this feed").response) }
            let document = try CAPDocument.of(stored, in: log, clearance: subscriber.clearance, publicURL: publicURL())
            let shown = subscriber.clearance.clears(stored.alert.confidentiality)
            audit.record([AuditEntry(
                tokenID: "feed:\(subscriber.id)", organisation: subscriber.organisation, action: .alertRead, target: id,
                detail: "CAP form through the feed: \(stored.alert.confidentiality.rawValue) alert at \(subscriber.clearance.rawValue) clearance; identity \(shown ? "shown" : "redacted")")],
                withNextWrite: true)
            var headers = HTTPHeaders()
            headers.set("content-type", CAPDocument.mediaType)
            headers.set("cache-control", "private, no-cache")
            responder.send(HTTPResponse(status: 200, headers: headers, body: document.bytes))
        } catch {
            responder.send(APIError.unavailable("the alert cannot be read right now; try again").response)
        }
    }

    /// The log's newest alerts (of `?country=`) for a bearer token with `alerts:read`, at its clearance.
    func tokenFeed(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let token = authenticator.require(.alertsRead, request, responder) else { return }
        let country: CountryCode?
        switch Self.country(request) {
        case .failure(let error): return responder.send(error.response)
        case .success(let parsed): country = parsed
        }
        let base = publicURL()
        let reader = AlertFeed.Reader(
            feedID: "urn:vigil:feed:token:\(token.id)" + (country.map { ":\($0.code)" } ?? ""),
            title: "Vigil — \(country?.name ?? "all countries")",
            selfURL: "\(base)/v1/feeds/alerts.atom" + (country.map { "?country=\($0.code)" } ?? ""),
            clearance: token.clearance, language: "en", capURL: { "\(base)/v1/alerts/\($0)" })
        let alerts: [StoredAlert]
        do {
            alerts = try AlertFeed.alerts(try AlertFeed.newestIDs(limit: AlertFeed.maxEntries, country: country, in: log), country: country, in: log)
        } catch {
            return responder.send(APIError.unavailable("the feed cannot be read right now; try again").response)
        }
        responder.send(answer(alerts, reader: reader, request: request, actor: AuditEntry(token, .alertRead, target: ""), country: country))
    }

    /// The feed, or `304` when the reader's `If-None-Match` names it; either way one audit
    /// line under `actor` naming the alerts.
    private func answer(_ alerts: [StoredAlert], reader: AlertFeed.Reader, request: HTTPRequest, actor: AuditEntry, country: CountryCode?) -> HTTPResponse {
        let ids = alerts.map(\.alert.id)
        let etag = AlertFeed.etag(ids: ids, clearance: reader.clearance, language: reader.language)
        let unchanged = AlertFeed.matches(request.headers["if-none-match"], etag)
        var entry = actor
        entry.target = ids.joined(separator: ",")
        let withheld = alerts.filter { !reader.clearance.clears($0.alert.confidentiality) }.count
        entry.detail = "Atom feed"
            + (country.map { " of \($0.code)" } ?? "") + (unchanged ? ", unchanged (304)" : "")
            + ": \(ids.count) alert\(ids.count == 1 ? "" : "s") at \(reader.clearance.rawValue) clearance"
            + (withheld == 0 ? "" : ", identity redacted for \(withheld)")
        audit.record([entry], withNextWrite: true)
        var headers = HTTPHeaders()
        headers.set("etag", etag)
        // The URL is a secret: no shared cache may keep the feed, a reader may ask with its ETag.
        headers.set("cache-control", "private, no-cache")
        if unchanged { return HTTPResponse(status: 304, headers: headers) }
        return HTTPResponse(status: 200, contentType: AtomFeed.contentType, text: String(decoding: AlertFeed.document(alerts, for: reader).bytes, as: UTF8.self), headers: headers)
    }

    /// `?country=`, checked.
    private static func country(_ request: HTTPRequest) -> Result<CountryCode?, APIError> {
        guard let text = request.query["country"] else { return .success(nil) }
        guard let code = CountryCode(text) else {
            return .failure(.badRequest(ValidationFailure([FieldError("country", "must be an ISO 3166-1 alpha-2 code such as BY")]).description))
        }
        return .success(code)
    }
}
