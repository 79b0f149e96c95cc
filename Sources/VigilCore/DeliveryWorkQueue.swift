/// The workers' side of the delivery queue: claiming due work under a lease and reporting
/// outcomes.
public protocol DeliveryWorkQueue: AnyObject, Sendable {
    /// Claims up to `claim.limit` deliveries that are due at `now` — pending, failed and due,
    /// or in flight under a lease that expired (its worker died) — critical alerts first,
    /// as `claim` admits them and within each channel's room; each is marked `in_flight` until
    /// `now + claim.leaseMilliseconds`.
    func claimDue(_ claim: ClaimRequest, now: Timestamp) throws -> [DeliveryRecord]
    /// Records the outcome of the attempt on `id` in the next commit, then calls
    /// `completion` (with the error that stopped it, if any). Workers do not wait for it:
    /// until the commit the delivery stays leased, so nobody else sends it, and a crash
    /// before the commit costs one more send, never a lost one.
    func complete(_ id: String, outcome: DeliveryOutcome, at now: Timestamp, completion: @escaping @Sendable (Error?) -> Void)
    /// When the first attempt of `id` was made, for the retry budget.
    func firstAttempt(of id: String) throws -> Timestamp?
    /// The earliest time a pending or failed delivery becomes due, if any.
    func nextDueTime() throws -> Timestamp?
}
