/// Where replays queue deliveries again (DESIGN §8).
public protocol ReplayQueue: DeliveryRecipients {
    /// Queues `deliveries` again for replay `replayID`: an existing delivery (same stable id)
    /// goes back to `pending` with a fresh retry budget, a new one is inserted; either way
    /// it queues below every live delivery. A delivery in flight right now is left to finish.
    /// Returns how many were queued.
    func recordReplay(_ deliveries: [RoutedDelivery], replayID: String) throws -> Int
}
