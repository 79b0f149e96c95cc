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
    /// before the commit costs one more send, never a lost one. A delivered digest settles
    /// the gathered deliveries `settling` it listed in the same write (they are `delivered`
    /// with it, and never sent on their own); other outcomes settle nothing.
    func complete(
        _ id: String, outcome: DeliveryOutcome, settling gathered: [String], at now: Timestamp, completion: @escaping @Sendable (Error?) -> Void)
    /// The alerts gathered into `digest` (a delivery whose follow-up is `.digest`) that are
    /// still waiting for it: the subscriber's deliveries on the digest's channel whose
    /// follow-up is `.gathered` of the digest's window, pending or failed.
    func gathered(into digest: DeliveryRecord) throws -> [DeliveryRecord]
    /// When the first attempt of `id` was made, for the retry budget.
    func firstAttempt(of id: String) throws -> Timestamp?
    /// The earliest time a pending or failed delivery becomes due, if any.
    func nextDueTime() throws -> Timestamp?
}

extension DeliveryWorkQueue {
    /// `complete(_:outcome:settling:at:completion:)` settling nothing: every delivery but a digest.
    public func complete(_ id: String, outcome: DeliveryOutcome, at now: Timestamp, completion: @escaping @Sendable (Error?) -> Void) {
        complete(id, outcome: outcome, settling: [], at: now, completion: completion)
    }
}

extension DeliveryRecord {
    /// Whether `self` is gathered into `digest`: same subscriber and channel, its window's
    /// follow-up, and still waiting (pending or failed). Both backends select with it.
    public func isGathered(into digest: DeliveryRecord) -> Bool {
        guard case .digest(let window) = digest.followUp, case .gathered(let start) = followUp else { return false }
        return start == window.start && subscriberID == digest.subscriberID && channelID == digest.channelID
            && (state == .pending || state == .failed)
    }
}
