import VigilCore

/// What the service needs of a router, whichever backend it follows: the embedded
/// `AlertRouter` or the Kafka group member `KafkaAlertRouter`.
public protocol AlertRouting: AnyObject, Sendable {
    /// Starts following the log from the last committed position.
    func start() throws
    /// Stops after the alert or batch in hand; what it routed is committed.
    func stop()
    /// Calls `listener` with the newest routed offset after each routing (workers, tests).
    func onRouted(_ listener: @escaping @Sendable (LogOffset) -> Void)
    /// The newest offset this router has routed.
    var routedOffset: LogOffset { get }
    /// Alerts in the log not yet routed (by every router of the group, on Kafka); `nil` when
    /// it cannot be read now.
    var lag: Int64? { get }
}
