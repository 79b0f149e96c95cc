/// The deliveries as people look at them: the status API, the dead letters and the
/// queue-depth metrics.
public protocol DeliveryLedger: AnyObject, Sendable {
    /// Every delivery of the alert `id`.
    func deliveries(ofAlert id: String) throws -> [DeliveryRecord]
    /// The ids of the newest `limit` alerts routed to subscriber `subscriberID`, newest first,
    /// each once however many channels and follow-ups it had; alerts whose every delivery
    /// to it was skipped (tests, exclusions) are left out. What a subscriber's feed lists.
    func alertIDs(routedTo subscriberID: String, limit: Int) throws -> [String]
    /// Dead letters, newest first.
    func deadLetters(limit: Int) throws -> [DeliveryRecord]
    /// Puts a dead delivery back in the queue with a fresh budget; `false` if it is not dead.
    func retryDead(_ id: String, at now: Timestamp) throws -> Bool
    /// How many deliveries are in each state (for the queue-depth and dead-letter metrics).
    func countsByState() throws -> [DeliveryState: Int]
}
