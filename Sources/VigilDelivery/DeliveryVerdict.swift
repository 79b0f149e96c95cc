/// What an attempt's result means for the delivery, by the rules of DESIGN §7.
///
/// A reason says what happened in Vigil's own words: the status code, its class and the
/// latency (`HTTP 500 (server error) after 123 ms`), or the transport failure's class
/// (`connection refused after 2 ms`, `timeout after 15000 ms`). It becomes the delivery's
/// `last_error`, which any `alerts:read` token reads and which outlives an erasure, so it
/// never carries anything the receiver wrote: a desk that echoes the payload in its error
/// reply would otherwise put a defender's name there.
public enum DeliveryVerdict: Sendable, Equatable {
    /// 2xx: done.
    case delivered
    /// 408, 429, 5xx, 3xx (redirects are not followed), timeouts and connection failures:
    /// try again, not before `notBeforeMilliseconds` when the receiver sent `Retry-After`.
    case retry(reason: String, notBeforeMilliseconds: Int64?)
    /// Any other 4xx: the receiver refuses it for good.
    case permanent(reason: String)
    /// 410 Gone: the endpoint is gone; disable it.
    case gone
    /// Not sent: the endpoint's circuit breaker is open, or its one trial is out. Try again
    /// at the breaker's next trial, `notBeforeMilliseconds` from now; the breaker is not told.
    case held(notBeforeMilliseconds: Int64)

    /// The verdict on an HTTP answer or a transport failure.
    public static func of(_ result: Result<HTTPOutcome, TransportError>) -> DeliveryVerdict {
        switch result {
        case .failure(let error):
            return .retry(reason: error.description, notBeforeMilliseconds: nil)
        case .success(let outcome):
            let status = outcome.status
            let reason = "HTTP \(status) (\(statusClass(status))) after \(outcome.latencyMilliseconds) ms"
            switch status {
            case 200..<300: return .delivered
            case 410: return .gone
            case 408, 429, 500..<600: return .retry(reason: reason, notBeforeMilliseconds: outcome.retryAfterMilliseconds)
            case 300..<400: return .retry(reason: reason, notBeforeMilliseconds: nil)
            default: return .permanent(reason: reason)
            }
        }
    }

    /// What a status code means here, in a few fixed words.
    static func statusClass(_ status: Int) -> String {
        switch status {
        case 200..<300: "success"
        case 300..<400: "redirect, not followed"
        case 408: "request timeout"
        case 410: "gone"
        case 429: "too many requests"
        case 400..<500: "refused"
        case 500..<600: "server error"
        default: "not a valid status"
        }
    }
}
