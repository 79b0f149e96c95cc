import VigilCore

/// One digest as it is sent (issue 21): the window it covers, the time zone its subscriber
/// reads it in, and the alerts gathered into it, each already redacted for the subscriber.
public struct Digest: Sendable, Equatable {
    /// One alert listed in a digest.
    public struct Entry: Sendable, Equatable {
        /// The gathered delivery the digest settles (`FollowUp.gathered`).
        public var deliveryID: String
        /// The alert, redacted for the subscriber (`Alert.redacted(for:language:)`).
        public var alert: Alert
        /// The link acknowledging it for the subscriber, if there is one.
        public var ackURL: String?

        /// An entry.
        public init(deliveryID: String, alert: Alert, ackURL: String?) {
            self.deliveryID = deliveryID
            self.alert = alert
            self.ackURL = ackURL
        }
    }

    /// The window the alerts were gathered in.
    public var window: DigestWindow
    /// The IANA time zone of the subscriber's digest schedule, for the times it shows.
    public var timezone: String
    /// The alerts, oldest first.
    public var entries: [Entry]

    /// A digest; `entries` are put in the order they were received.
    public init(window: DigestWindow, timezone: String, entries: [Entry]) {
        self.window = window
        self.timezone = timezone
        self.entries = entries.sorted { ($0.alert.receivedAt, $0.alert.id) < ($1.alert.receivedAt, $1.alert.id) }
    }
}
