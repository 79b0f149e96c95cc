/// What became of one attempt, as the worker reports it to the queue.
public enum DeliveryOutcome: Sendable, Equatable {
    /// The receiver took it.
    case delivered
    /// Try again at `retryAt`.
    case retry(at: Timestamp, error: String)
    /// Give up: permanent refusal or budget spent.
    case dead(error: String)
    /// Not sent, and not to be: the alert was acknowledged or its case closed or cancelled
    /// before this follow-up (or, after a `cancel`, this sending) came due.
    case cancelled(reason: String)
}
