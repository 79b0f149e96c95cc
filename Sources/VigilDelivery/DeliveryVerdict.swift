/// What an attempt's result means for the delivery, by the rules of DESIGN §7.
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
            let detail = outcome.bodyPrefix.isEmpty ? "" : ": " + String(outcome.bodyPrefix.prefix(200))
            switch status {
            case 200..<300: return .delivered
            case 410: return .gone
            case 408, 429, 500..<600:
                return .retry(reason: "the receiver answered \(status)\(detail)", notBeforeMilliseconds: outcome.retryAfterMilliseconds)
            case 300..<400: return .retry(reason: "the receiver answered \(status) (redirects are not followed)", notBeforeMilliseconds: nil)
            default: return .permanent(reason: "the receiver refused with \(status)\(detail)")
            }
        }
    }
}
