import Dispatch
import Foundation
import Synchronization
import VigilCore
import VigilHTTP
import VigilObservability
import VigilStore

/// `POST /v1/alerts`, `GET /v1/alerts/{id}` and `GET /v1/alerts` (DESIGN §10).
///
/// Filing answers `202` only once the log says the append is durable; reads are redacted
/// to the caller's clearance.
public struct AlertsAPI: Sendable {
    let log: any AlertLog
    let deliveries: any DeliveryLedger
    let authenticator: Authenticator
    let audit: AuditTrail
    /// The filing path `POST /v1/alerts` shares with the console.
    let filing: AlertFiling
    let metrics: Metrics
    let logger: Logger
    /// The service's public URL as it stands (the base of the console pages CAP's `web` names).
    var publicURL: @Sendable () -> String = { "http://vigil.invalid" }
    /// The long polls each token holds, capped.
    let longPolls = LongPollSlots(perToken: AlertsAPI.maxLongPollsPerToken)

    /// Most long polls (`wait=…`) one token may hold at once.
    static let maxLongPollsPerToken = 4

    /// Longest `wait` a listing may ask for, in seconds.
    static let maxWaitSeconds = 30.0
    /// Largest `limit` a listing may ask for.
    static let maxLimit = 1000

    /// Adds the routes to `router`.
    public func register(on router: inout HTTPRouter) {
        // Filing answers from the append's completion and waits for no commit: it runs on
        // the connection's queue, without a hop to the blocking pool.
        router.add(Self.fileOperation, inline: true) { request, responder in file(request, responder) }
        router.add(Self.fileBatchOperation, inline: true) { request, responder in fileBatch(request, responder) }
        router.add(Self.readOperation) { request, responder in read(request, responder) }
        router.add(Self.listOperation) { request, responder in list(request, responder) }
        router.add(Self.listDeliveriesOperation) { request, responder in listDeliveries(request, responder) }
    }

    /// The contract of each route `register` adds.
    static var operations: [APIOperation] { [fileOperation, fileBatchOperation, readOperation, listOperation, listDeliveriesOperation] }

    static let fileOperation = APIOperation(
        "POST", "/v1/alerts", id: "fileAlert", tag: "alerts", summary: "File an alert (JSON, or CAP 1.2 as application/cap+xml); 202 once durable",
        access: .token(.alertsWrite),
        parameters: [.header("Idempotency-Key", "repeats of the same key and body answer the first filing", .string(minLength: 1, maxLength: 200, pattern: "^[!-~]+$"))],
        body: [.json(.ref("AlertSubmission")), APIOperation.Content(mediaType: CAPDocument.mediaType, schema: .string("a CAP 1.2 alert"))],
        responses: [
            .json(202, "filed and durable", .ref("Receipt"), headers: [
                "location": APIOperation.Header("the alert's URL", required: true),
                "idempotent-replayed": APIOperation.Header("`true` when an earlier filing with this key answers"),
            ]),
            .error(400, "a CAP document that cannot be read, or a malformed Idempotency-Key"),
            .error(409, "the Idempotency-Key was used with another body"),
            .error(415, "the body is neither application/json nor application/cap+xml"),
            .validation("the alert is invalid; every problem is named"),
        ])

    static let fileBatchOperation = APIOperation(
        "POST", "/v1/alerts/batch", id: "fileAlerts", tag: "alerts",
        summary: "File up to \(AlertFiling.maxBatch) alerts in one durable write; each counts against the rate limit",
        access: .token(.alertsWrite),
        body: [.json(.object(
            [
                "alerts": .array(
                    .object(["idempotency_key": OpenAPISchema.string("1 to 200 visible ASCII characters, else that alert alone is refused").orNull]), minItems: 1,
                    maxItems: AlertFiling.maxBatch,
                    "each an AlertSubmission plus an optional idempotency_key; each is checked on its own, and an invalid one is refused in its result, not the batch")
            ],
            required: ["alerts"], closed: true))],
        responses: [
            .json(200, "one result per alert, in order", .object(
                [
                    "accepted": .integer(minimum: 0), "refused": .integer(minimum: 0),
                    "results": .array(.object(
                        [
                            "index": .integer(minimum: 0), "status": .integer(minimum: 200, maximum: 599), "id": APIComponents.ulid,
                            "offset": .integer(minimum: 1), "error": .string(), "message": .string(), "fields": .array(.ref("FieldError")),
                        ], required: ["index", "status"])),
                ], required: ["accepted", "refused", "results"])),
            .error(415, "the body is not application/json"),
            .validation("the body is not a batch of 1 to \(AlertFiling.maxBatch) alert objects"),
        ])

    static let readOperation = APIOperation(
        "GET", "/v1/alerts/{id}", id: "readAlert", tag: "alerts",
        summary: "An alert redacted to the token's clearance, as JSON or (Accept: application/cap+xml) CAP 1.2; audited",
        access: .token(.alertsRead), parameters: [.path("id", "the alert's id")],
        responses: [
            APIOperation.Response(200, "the alert", [.json(.ref("Alert")), APIOperation.Content(mediaType: CAPDocument.mediaType, schema: .string())]),
            .error(404, "no such alert"),
            .error(406, "Accept names neither application/json nor application/cap+xml"),
        ])

    static let listOperation = APIOperation(
        "GET", "/v1/alerts", id: "listAlerts", tag: "alerts",
        summary: "Alerts in log order, redacted to the token's clearance; wait=N holds the request until one arrives",
        access: .token(.alertsRead),
        parameters: [
            .query("country", "only this country", APIComponents.country),
            .query("since", "received at or after", APIComponents.time),
            .query("until", "received before", APIComponents.time),
            .query("after", "a cursor (next_cursor of the page before; one offset is a cursor too), or end for the newest", .oneOf([
                .string("offsets joined by -", maxLength: AlertsAPI.maxCursorLength, pattern: AlertsAPI.cursorPattern), .constant("end"),
            ])),
            .query("limit", "at most this many", .integer(minimum: 1, maximum: Int64(AlertsAPI.maxLimit))),
            .query("wait", "seconds to wait for a first match", .number(minimum: 0, maximum: AlertsAPI.maxWaitSeconds)),
        ],
        responses: [
            .json(200, "a page; pass next_cursor as after for the next", .object(
                [
                    "alerts": .array(.ref("Alert")),
                    "next_cursor": .string("where the next page starts, partition by partition", maxLength: AlertsAPI.maxCursorLength, pattern: AlertsAPI.cursorPattern),
                    "next_after": .integer("the newest offset seen (one number: on Kafka it cannot follow every partition; use next_cursor)", minimum: 0),
                ], required: ["alerts", "next_cursor", "next_after"])),
            .error(400, "a parameter is out of its bounds"),
            .error(429, "over the rate limit, or the token already holds \(AlertsAPI.maxLongPollsPerToken) waiting requests", headers: [
                "retry-after": APIOperation.Header("seconds to wait")
            ]),
        ])

    static let listDeliveriesOperation = APIOperation(
        "GET", "/v1/alerts/{id}/deliveries", id: "listAlertDeliveries", tag: "alerts", summary: "Every delivery of an alert and its state",
        access: .token(.alertsRead), parameters: [.path("id", "the alert's id")],
        responses: [.json(200, "the deliveries", .ref("Deliveries")), .error(404, "no such alert")])

    /// `POST /v1/alerts`: an alert as `application/json` (the default), or a CAP 1.2 alert as
    /// `application/cap+xml`, read by `CAPSubmission` and filed as the JSON it maps to.
    func file(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let token = authenticator.require(.alertsWrite, request, responder) else { return }
        if let type = request.headers["content-type"]?.lowercased() {
            if type.hasPrefix(CAPDocument.mediaType) { return fileCAP(request, by: token, responder) }
            if !type.hasPrefix("application/json") {
                return responder.send(APIError.unsupportedMediaType("send the alert as application/json or application/cap+xml").response)
            }
        }
        filing.file(request.body, by: token, idempotencyKey: request.headers["idempotency-key"]) { result in
            responder.send(AlertsAPI.filed(result))
        }
    }

    /// `POST /v1/alerts/batch` (issue 22): up to `AlertFiling.maxBatch` alerts, each validated
    /// and audited on its own, the valid ones appended in one durable write; `200` with one
    /// result per alert once that write is durable. Each alert counts against the token's
    /// rate limit.
    func fileBatch(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let token = authenticator.require(.alertsWrite, request, responder) else { return }
        if let type = request.headers["content-type"]?.lowercased(), !type.hasPrefix("application/json") {
            return responder.send(APIError.unsupportedMediaType("send a batch as application/json: {\"alerts\": [...]}").response)
        }
        let batch: AlertBatch
        do {
            batch = try AlertBatch(json: request.body)
        } catch {
            return responder.send(error.response)
        }
        if let refusal = authenticator.charge(token, cost: batch.items.count - 1) { return responder.send(refusal.response) }
        filing.fileAll(batch.items, by: token) { results in responder.send(AlertBatch.response(results)) }
    }

    /// Files a CAP document: `400` when it cannot be read (a DTD, an entity, not UTF-8, not
    /// well-formed, too deep or too large), `422` with problems named by CAP element path,
    /// otherwise whatever filing its JSON answers.
    func fileCAP(_ request: HTTPRequest, by token: TokenRecord, _ responder: HTTPResponder) {
        let submission: CAPSubmission
        do {
            submission = try CAPSubmission(xml: request.body)
        } catch {
            metrics.increment("vigil_alerts_rejected_total", labels: "reason=\"cap_unreadable\"")
            return responder.send(APIError.badRequest(error.description).response)
        }
        let prepared: (json: [UInt8], problems: [FieldError])
        do {
            prepared = try submission.prepared { id in try log.alert(id: id)?.alert.caseID }
        } catch {
            return responder.send(APIError.unavailable("the alert log cannot be read right now").response)
        }
        if let failure = submission.failure(json: prepared.json, problems: prepared.problems, organisation: token.organisation) {
            metrics.increment("vigil_alerts_rejected_total", labels: "reason=\"validation\"")
            return responder.send(APIError.validation(failure).response)
        }
        filing.file(prepared.json, by: token, idempotencyKey: request.headers["idempotency-key"]) { result in
            responder.send(AlertsAPI.filed(result.mapError { error in
                if case .validation(let failure) = error { return .validation(submission.translated(failure)) }
                return error
            }))
        }
    }

    /// The answer to a filing: `202 {"id","offset","status":"accepted"}` with `Location`, or the error.
    static func filed(_ result: Result<AppendReceipt, APIError>) -> HTTPResponse {
        switch result {
        case .failure(let error): return error.response
        case .success(let receipt):
            var headers = HTTPHeaders()
            headers.set("location", "/v1/alerts/\(receipt.id)")
            if receipt.repeated { headers.set("idempotent-replayed", "true") }
            var w = JSONWriter(capacity: 80)
            w.beginObject()
            w.field("id", receipt.id)
            w.key("offset")
            w.integer(receipt.offset)
            w.field("status", "accepted")
            w.endObject()
            return APIResponse.json(202, bytes: w.bytes, headers: headers)
        }
    }

    /// `GET /v1/alerts/{id}`: the alert redacted to the token's clearance, as JSON or, for
    /// `Accept: application/cap+xml`, as CAP 1.2; audited either way. An `Accept` naming only
    /// types Vigil cannot give answers `406`.
    func read(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let token = authenticator.require(.alertsRead, request, responder) else { return }
        guard let format = AlertsAPI.negotiate(request.headers["accept"]) else {
            return responder.send(AlertsAPI.notAcceptable)
        }
        let id = request.pathParameters["id"] ?? ""
        do {
            guard let stored = try log.alert(id: id) else {
                return responder.send(APIError.notFound("no alert with id '\(id)'").response)
            }
            switch format {
            case .json:
                audit.recordReads([stored], by: token)
                var response = APIResponse.json(200, bytes: stored.alert.redacted(for: token.clearance).jsonBytes(offset: stored.offset))
                response.headers.set("vary", "accept")
                responder.send(response)
            case .cap:
                let document = try CAPDocument.of(stored, in: log, clearance: token.clearance, publicURL: publicURL())
                audit.recordReads([stored], by: token)
                var headers = HTTPHeaders()
                headers.set("content-type", CAPDocument.mediaType)
                headers.set("vary", "accept")
                responder.send(HTTPResponse(status: 200, headers: headers, body: document.bytes))
            }
        } catch {
            responder.send(APIError.unavailable("the alert log cannot be read right now").response)
        }
    }

    /// `GET /v1/alerts/{id}/deliveries`: every delivery of the alert and its state.
    func listDeliveries(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard authenticator.require(.alertsRead, request, responder) != nil else { return }
        let id = request.pathParameters["id"] ?? ""
        do {
            guard try log.alert(id: id) != nil else { return responder.send(APIError.notFound("no alert with id '\(id)'").response) }
            responder.send(APIResponse.deliveries(try deliveries.deliveries(ofAlert: id), alertID: id))
        } catch {
            responder.send(APIError.unavailable("the deliveries cannot be read right now").response)
        }
    }

    /// Lists alerts by `country`, `since`, `until`, `after` (a cursor, exclusive: see
    /// `AlertCursor`) and `limit`; with `wait=N` and nothing to list yet, holds the request up
    /// to N seconds until a matching alert is appended (what `vigil tail` uses).
    func list(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let token = authenticator.require(.alertsRead, request, responder) else { return }
        let listing: ListingRequest
        switch ListingRequest.parse(request.query) {
        case .failure(let error): return responder.send(error.response)
        case .success(let parsed): listing = parsed
        }
        let log = self.log, audit = self.audit
        var (query, wait) = (listing.query, listing.wait)
        if listing.fromEnd {
            guard let end = try? log.endCursor() else {
                return responder.send(APIError.unavailable("the alert log cannot be read right now").response)
            }
            query.after = end
        }
        let fixed = (query: query, wait: wait, after: query.after ?? .start)
        let answer: @Sendable () -> HTTPResponse? = {
            guard let found = try? log.alerts(matching: fixed.query) else {
                return APIError.unavailable("the alert log cannot be read right now").response
            }
            if found.isEmpty && fixed.wait > 0 { return nil }
            audit.recordListing(found, by: token)
            return AlertsAPI.listing(found, clearance: token.clearance, after: fixed.after)
        }
        if let response = answer() { return responder.send(response) }
        let metrics = self.metrics, longPolls = self.longPolls
        guard longPolls.take(token.id) else {
            metrics.increment("vigil_api_long_polls_refused_total")
            return responder.send(APIError.tooManyLongPolls(limit: longPolls.perToken, retryAfter: 1).response)
        }
        metrics.adjust("vigil_api_long_polls_waiting", by: 1)
        AppendWaiter.wait(on: log, seconds: fixed.wait, check: answer) { response in
            longPolls.release(token.id)
            metrics.adjust("vigil_api_long_polls_waiting", by: -1)
            responder.send(response ?? AlertsAPI.listing([], clearance: token.clearance, after: fixed.after))
        }
    }
}

extension AlertsAPI {
    /// `{"alerts":[…],"next_cursor":"…","next_after":N}`, each alert redacted to `clearance`
    /// and carrying its `offset`; pass `next_cursor` as `after` for the next page. `next_after`,
    /// the newest offset seen, is what clients read before cursors: one number follows the
    /// embedded log, but not every partition on Kafka.
    static func listing(_ alerts: [StoredAlert], clearance: Confidentiality, after: AlertCursor) -> HTTPResponse {
        var next = after
        var w = JSONWriter(capacity: 96 + alerts.count * 900)
        w.beginObject()
        w.key("alerts")
        w.beginArray()
        for stored in alerts {
            stored.alert.redacted(for: clearance).write(to: &w, offset: stored.offset)
            next.advance(past: stored.offset)
        }
        w.endArray()
        w.field("next_cursor", next.description)
        w.key("next_after")
        w.integer(alerts.last?.offset ?? next.through.values.max() ?? 0)
        w.endObject()
        return APIResponse.json(200, bytes: w.bytes)
    }
}

/// Holds a long-poll until an append produces an answer or the wait runs out.
final class AppendWaiter: Sendable {
    /// Whether the poll is answered, and the observation to cancel when it is.
    private let state = Mutex<(done: Bool, observation: AppendObservation?)>((false, nil))
    private let check: @Sendable () -> HTTPResponse?
    private let finish: @Sendable (HTTPResponse?) -> Void
    private static let queue = DispatchQueue(label: "vigil.api.longpoll")

    private init(check: @escaping @Sendable () -> HTTPResponse?, finish: @escaping @Sendable (HTTPResponse?) -> Void) {
        self.check = check
        self.finish = finish
    }

    static func wait(on log: any AlertLog, seconds: Double, check: @escaping @Sendable () -> HTTPResponse?, finish: @escaping @Sendable (HTTPResponse?) -> Void) {
        let waiter = AppendWaiter(check: check, finish: finish)
        let observation = log.observeAppends { _ in queue.async { waiter.recheck() } }
        waiter.state.withLock { $0.observation = observation }
        queue.async { waiter.recheck() }  // an append may have landed between the first check and the observation
        queue.asyncAfter(deadline: .now() + seconds) { waiter.complete(nil) }
    }

    private func recheck() {
        guard !state.withLock({ $0.done }) else { return }
        if let response = check() { complete(response) }
    }

    private func complete(_ response: HTTPResponse?) {
        let observation: AppendObservation? = state.withLock { state in
            guard !state.done else { return nil }
            state.done = true
            defer { state.observation = nil }
            return state.observation ?? AppendObservation {}
        }
        guard let observation else { return }
        observation.cancel()
        finish(response)
    }
}

/// The query parameters of `GET /v1/alerts`, checked.
struct ListingRequest {
    let query: AlertQuery
    let wait: Double
    /// `after=end`: start from the newest alert, as `vigil tail` does.
    let fromEnd: Bool

    static func parse(_ q: [String: String]) -> Result<ListingRequest, APIError> {
        var query = AlertQuery()
        var problems: [FieldError] = []
        if let text = q["country"] {
            query.country = CountryCode(text)
            if query.country == nil { problems.append(FieldError("country", "'\(text)' is not an ISO 3166-1 alpha-2 code")) }
        }
        for (name, assign) in [("since", { (t: Timestamp) in query.since = t }), ("until", { query.until = $0 })] {
            guard let text = q[name] else { continue }
            if let time = Timestamp(rfc3339: text) { assign(time) } else { problems.append(FieldError(name, "must be an RFC 3339 time")) }
        }
        var fromEnd = false
        query.after = .start
        if let text = q["after"] {
            if text == "end" {
                fromEnd = true
            } else if text.utf8.count <= AlertsAPI.maxCursorLength, let cursor = AlertCursor(Substring(text)) {
                query.after = cursor
            } else {
                problems.append(FieldError("after", "must be a cursor (next_cursor of a page, or one offset from 0 to \(AlertCursor.maxOffset)), or 'end'"))
            }
        }
        if let text = q["limit"] {
            if let value = Int(text), (1...AlertsAPI.maxLimit).contains(value) { query.limit = value } else {
                problems.append(FieldError("limit", "must be between 1 and \(AlertsAPI.maxLimit)"))
            }
        }
        var wait = 0.0
        if let text = q["wait"] {
            if let value = Double(text), value >= 0, value <= AlertsAPI.maxWaitSeconds { wait = value } else {
                problems.append(FieldError("wait", "must be between 0 and \(Int(AlertsAPI.maxWaitSeconds)) seconds"))
            }
        }
        guard problems.isEmpty else { return .failure(.badRequest(ValidationFailure(problems).description)) }
        return .success(ListingRequest(query: query, wait: wait, fromEnd: fromEnd))
    }


}

extension AlertsAPI {
    /// Largest offset a client may name (2^53 − 1, the largest integer JSON carries exactly).
    static let maxOffset: LogOffset = AlertCursor.maxOffset
    /// Longest cursor a client may send: one offset of up to 16 digits per partition.
    static let maxCursorLength = AlertCursor.maxStreams * 17
    /// What a cursor looks like: offsets joined by `-`.
    static let cursorPattern = "^[0-9]{1,16}(-[0-9]{1,16})*$"
}

/// How many long polls each token holds, so no token can hold every waiting slot.
final class LongPollSlots: Sendable {
    /// Most long polls one token may hold.
    let perToken: Int
    private let held = Mutex<[String: Int]>([:])

    /// Slots for `perToken` long polls per token.
    init(perToken: Int) { self.perToken = perToken }

    /// Takes a slot for `tokenID`; `false` when it already holds `perToken`.
    func take(_ tokenID: String) -> Bool {
        held.withLock { held in
            let count = held[tokenID, default: 0]
            guard count < perToken else { return false }
            held[tokenID] = count + 1
            return true
        }
    }

    /// Gives back a slot `take` granted.
    func release(_ tokenID: String) {
        held.withLock { held in
            let count = held[tokenID, default: 0] - 1
            held[tokenID] = count > 0 ? count : nil
        }
    }

    /// The slots `tokenID` holds now (tests).
    func count(_ tokenID: String) -> Int { held.withLock { $0[tokenID, default: 0] } }
}

extension AlertsAPI {
    /// The forms `GET /v1/alerts/{id}` answers in.
    enum ReadFormat: Sendable, Equatable {
        /// `application/json`, the default.
        case json
        /// `application/cap+xml`, CAP 1.2.
        case cap
    }

    /// Most media ranges of an `Accept` header looked at.
    static let maxMediaRanges = 32

    /// The form `accept` asks for: JSON without an `Accept` (or with one JSON satisfies as well
    /// as CAP), CAP when it ranks CAP higher, by `q` then by how specifically it names the type;
    /// `nil` when it accepts neither (every range another type, or `q=0`).
    static func negotiate(_ accept: String?) -> ReadFormat? {
        guard let accept, accept.contains(where: { !$0.isWhitespace }) else { return .json }
        var ranges: [(type: Substring, subtype: Substring, q: Double)] = []
        for item in accept.split(separator: ",").prefix(maxMediaRanges) {
            let parts = item.split(separator: ";")
            guard let media = parts.first?.trimmingCharacters(in: .whitespaces).lowercased() else { continue }
            let halves = media.split(separator: "/", omittingEmptySubsequences: false)
            guard halves.count == 2, !halves[0].isEmpty, !halves[1].isEmpty else { continue }
            var q = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                guard pair.count == 2, pair[0] == "q" else { continue }
                guard let value = Double(pair[1]), value.isFinite, (0...1).contains(value) else { q = -1; break }
                q = value
            }
            if q >= 0 { ranges.append((halves[0], halves[1], q)) }
        }
        /// The `q` of the most specific range matching `type/subtype`, and that specificity.
        func rank(_ type: String, _ subtype: String) -> (q: Double, specificity: Int)? {
            var found: (q: Double, specificity: Int)?
            for range in ranges {
                let specificity: Int
                if range.type == type && range.subtype == subtype {
                    specificity = 2
                } else if range.type == type && range.subtype == "*" {
                    specificity = 1
                } else if range.type == "*" && range.subtype == "*" {
                    specificity = 0
                } else {
                    continue
                }
                if found == nil || specificity > found!.specificity { found = (range.q, specificity) }
            }
            return found.flatMap { $0.q > 0 ? $0 : nil }
        }
        let json = rank("application", "json"), cap = rank("application", "cap+xml")
        switch (json, cap) {
        case (nil, nil): return nil
        case (.some, nil): return .json
        case (nil, .some): return .cap
        case (.some(let j), .some(let c)): return (c.q, c.specificity) > (j.q, j.specificity) ? .cap : .json
        }
    }

    /// `406`: the `Accept` header names only forms Vigil cannot give.
    static var notAcceptable: HTTPResponse {
        var w = JSONWriter(capacity: 160)
        w.beginObject()
        w.field("error", "not_acceptable")
        w.field("message", "an alert is available as application/json or \(CAPDocument.mediaType); ask for one of them in Accept")
        w.endObject()
        return APIResponse.json(406, bytes: w.bytes)
    }
}
