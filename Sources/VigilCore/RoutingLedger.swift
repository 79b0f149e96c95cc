/// Where a router that keeps its own position records what it routed (the embedded
/// backend: the `deliveries` table and the router's row in `consumer_positions`, written in
/// one transaction). A Kafka router keeps its position as its consumer group's commits and
/// records through `DeliveryRecorder` instead.
public protocol RoutingLedger: DeliveryRecipients {
    /// Records `deliveries` and moves `consumer`'s log position to `offset`, atomically:
    /// after a crash the router either sees both or neither, so it neither loses nor
    /// doubles a routing. Recording a delivery that exists already changes nothing.
    func recordRouting(_ deliveries: [RoutedDelivery], through offset: LogOffset, consumer: String) throws
    /// The last log offset `consumer` routed (0 before the first).
    func position(of consumer: String) throws -> LogOffset
    /// `recordRouting`, with a claim recorded in the same write: `handOff` gets the
    /// deliveries `claim` takes, as early as the ledger can give them (the embedded queue:
    /// fresh ones, as soon as the write is queued), so their sends need not wait for the
    /// commit; the call returns once the commit is durable, and throws if it failed. A claim
    /// lost that way leaves its deliveries to be routed and sent again: at least once, never
    /// lost. `handOff` is called exactly once.
    func recordRouting(
        _ deliveries: [RoutedDelivery], through offset: LogOffset, consumer: String, claim: ClaimRequest,
        handOff: @escaping @Sendable ([DeliveryRecord]) -> Void) throws
}

extension RoutingLedger where Self: DeliveryWorkQueue {
    /// Records, then claims in a transaction of its own: for ledgers with nothing better.
    public func recordRouting(
        _ deliveries: [RoutedDelivery], through offset: LogOffset, consumer: String, claim: ClaimRequest,
        handOff: @escaping @Sendable ([DeliveryRecord]) -> Void
    ) throws {
        do {
            try recordRouting(deliveries, through: offset, consumer: consumer)
        } catch {
            handOff([])
            throw error
        }
        handOff((try? claimDue(claim, now: Timestamp.now())) ?? [])
    }
}
