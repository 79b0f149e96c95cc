/// Where acknowledgements are kept (issue 19): on the embedded backend a table of the store;
/// on Kafka the same table as a cache of the compacted topic `vigil.acks`, written through.
/// The API records them; the workers ask it before sending an escalation or a reminder.
public protocol AcknowledgementLedger: AnyObject, Sendable {
    /// Records `ack`: the first for its (alert, subscriber), or an update of the action,
    /// time, channel and note of an earlier one. Returns whether it was the first.
    /// Acknowledging again with the same action changes nothing but the time.
    @discardableResult
    func acknowledge(_ ack: Acknowledgement) throws -> Bool
    /// Every acknowledgement of the alert `id`, by subscriber id; notes opened where the
    /// alert's key still exists.
    func acknowledgements(ofAlert id: String) throws -> [Acknowledgement]
    /// Whether any of `subscriberIDs` acknowledged the alert `alertID`.
    func isAcknowledged(_ alertID: String, byAnyOf subscriberIDs: Set<String>) throws -> Bool
}
