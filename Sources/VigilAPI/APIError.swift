import Foundation
import VigilCore
import VigilHTTP

/// An API failure and the JSON response it becomes: `{"error": code, "message": …}`, with
/// `fields` for validation failures (DESIGN §10).
public enum APIError: Error, Sendable {
    /// 400: a malformed query or header.
    case badRequest(String)
    /// 401: no valid token.
    case unauthorized(String)
    /// 403: the token lacks the scope.
    case forbidden(String)
    /// 404: no such resource.
    case notFound(String)
    /// 409: an idempotency key reused with another body.
    case conflict(String)
    /// 409: an acknowledgement's action contradicts the filer's handling instruction `instruction`.
    case handlingConflict(instruction: String, String)
    /// 410: a link that was genuine but has expired.
    case gone(String)
    /// 415: the body is not JSON.
    case unsupportedMediaType(String)
    /// 422: every invalid field.
    case validation(ValidationFailure)
    /// 429: the token is over its rate limit; retry after this many seconds.
    case tooManyRequests(retryAfter: Int)
    /// 429: this client address failed to authenticate too often; retry after this many seconds.
    case tooManyFailures(retryAfter: Int)
    /// 429: this token holds as many long polls as it may; retry after this many seconds.
    case tooManyLongPolls(limit: Int, retryAfter: Int)
    /// 503: the store or log cannot take writes now.
    case unavailable(String)

    /// The status this error answers with.
    public var status: Int { response.status }

    /// What went wrong, in a sentence (the field problems joined, for a validation failure).
    public var message: String {
        switch self {
        case .badRequest(let m), .unauthorized(let m), .forbidden(let m), .notFound(let m), .conflict(let m), .handlingConflict(_, let m),
            .gone(let m), .unsupportedMediaType(let m), .unavailable(let m):
            m
        case .validation(let failure): failure.description
        case .tooManyRequests(let seconds): "over the rate limit; retry in \(seconds) s"
        case .tooManyFailures(let seconds): "too many failed attempts from this address; retry in \(seconds) s"
        case .tooManyLongPolls(_, let seconds): "too many waiting requests; retry in \(seconds) s"
        }
    }

    /// The `error` code of its JSON body (`validation_failed`, `idempotency_conflict`, …).
    public var code: String {
        switch self {
        case .badRequest: "bad_request"
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        case .notFound: "not_found"
        case .conflict: "idempotency_conflict"
        case .handlingConflict: "handling_instruction"
        case .gone: "gone"
        case .unsupportedMediaType: "unsupported_media_type"
        case .validation: "validation_failed"
        case .tooManyRequests: "rate_limited"
        case .tooManyFailures: "too_many_failures"
        case .tooManyLongPolls: "too_many_long_polls"
        case .unavailable: "unavailable"
        }
    }

    /// The response to send.
    public var response: HTTPResponse {
        switch self {
        case .badRequest(let m): APIError.body(400, code, m)
        case .unauthorized(let m): APIError.body(401, code, m, headers: ["www-authenticate": "Bearer realm=\"vigil\""])
        case .forbidden(let m): APIError.body(403, code, m)
        case .notFound(let m): APIError.body(404, code, m)
        case .conflict(let m): APIError.body(409, code, m)
        case .handlingConflict(let instruction, let m): APIResponse.json(409, HandlingBody(error: code, instruction: instruction, message: m))
        case .gone(let m): APIError.body(410, code, m)
        case .unsupportedMediaType(let m): APIError.body(415, code, m)
        case .validation(let failure): APIResponse.json(422, ValidationBody(error: code, fields: failure.fields))
        case .tooManyRequests(let seconds):
            APIError.body(429, code, "this token is over its rate limit; retry in \(seconds) s", headers: ["retry-after": String(seconds)])
        case .tooManyFailures(let seconds):
            APIError.body(
                429, code, "too many failed authentications from this address; retry in \(seconds) s", headers: ["retry-after": String(seconds)])
        case .tooManyLongPolls(let limit, let seconds):
            APIError.body(
                429, code, "this token already holds \(limit) waiting requests (wait=…); retry in \(seconds) s or without wait",
                headers: ["retry-after": String(seconds)])
        case .unavailable(let m): APIError.body(503, code, m, headers: ["retry-after": "5"])
        }
    }

    private struct MessageBody: Encodable {
        let error: String
        let message: String
    }

    private struct HandlingBody: Encodable {
        let error: String
        let instruction: String
        let message: String
    }

    private struct ValidationBody: Encodable {
        let error: String
        let fields: [FieldError]
    }

    private static func body(_ status: Int, _ code: String, _ message: String, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        APIResponse.json(status, MessageBody(error: code, message: message), headers: headers)
    }
}

/// JSON responses.
public enum APIResponse {
    /// `value` encoded as the response body with `content-type: application/json`.
    public static func json(_ status: Int, _ value: some Encodable, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        let body = (try? VigilJSON.encode(value)) ?? Data("{\"error\":\"internal\"}".utf8)
        return json(status, bytes: Array(body), headers: headers)
    }

    /// `{"alert_id": …, "deliveries": [...]}` (the alert id only when given).
    static func deliveries(_ records: [DeliveryRecord], alertID: String? = nil) -> HTTPResponse {
        var w = JSONWriter(capacity: 64 + records.count * 400)
        w.beginObject()
        w.field("alert_id", alertID)
        w.key("deliveries")
        w.beginArray()
        for record in records { record.write(to: &w) }
        w.endArray()
        w.endObject()
        return json(200, bytes: w.bytes)
    }

    /// Already-encoded JSON `bytes` as the response body.
    public static func json(_ status: Int, bytes: [UInt8], headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        var headers = headers
        headers.set("content-type", "application/json")
        return HTTPResponse(status: status, headers: headers, body: bytes)
    }
}
