/// What became of one attempt, as the worker reports it to the queue.
public enum DeliveryOutcome: Sendable, Equatable {
    /// The receiver took it.
    case delivered
    /// Try again at `retryAt`.
    case retry(at: Timestamp, error: String)
    /// Give up: permanent refusal or budget spent.
    case dead(error: String)
}
