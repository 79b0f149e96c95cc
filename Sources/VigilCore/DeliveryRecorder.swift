/// Where a router whose position lives elsewhere records the deliveries of what it routed
/// (the Kafka backend: the delivery topics; the router's position is its consumer group's
/// commit, made once this returns).
public protocol DeliveryRecorder: DeliveryRecipients {
    /// Records `deliveries` durably; recording a delivery that exists already changes nothing.
    func record(_ deliveries: [RoutedDelivery]) throws
}
