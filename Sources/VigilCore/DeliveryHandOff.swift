/// Where the router hands the deliveries it claimed in its own transaction (see
/// `RoutingLedger.recordRouting(_:through:consumer:claim:handOff:)`): the workers.
public protocol DeliveryHandOff: AnyObject, Sendable {
    /// Sets aside the send slots free now for one claim; `nil` when there are none.
    func reserveForRouting() -> ClaimRequest?
    /// Starts `claimed`, taken under `reservation`, and frees the slots it did not use.
    func accept(_ claimed: [DeliveryRecord], reservedBy reservation: ClaimRequest)
}

/// The delivery workers as the rest of the service sees them: they take deliveries claimed
/// for them in a routing transaction, and they can be told that new work may be due.
public protocol DeliveryWorkers: DeliveryHandOff {
    /// Asks the workers to look for due work (after routing, a replay batch, a retry).
    func poke()
}
