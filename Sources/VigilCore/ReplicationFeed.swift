/// Where a store publishes each change when its state must be shared by many processes (the
/// Kafka backend's compacted topics `vigil.subscribers` and `vigil.tokens`): the latest
/// value under a key, `nil` to delete it. Every process applies what it reads back, so
/// the local tables are a cache of the feed.
public protocol ReplicationFeed: Sendable {
    /// Makes `value` the state of `key`, durably, before returning.
    func publish(key: String, value: [UInt8]?) throws

    /// Publishes every record, in order, before returning.
    func publish(_ records: [(key: String, value: [UInt8]?)]) throws
}

extension ReplicationFeed {
    /// Publishes every record, in order, before returning; a feed may send them together.
    public func publish(_ records: [(key: String, value: [UInt8]?)]) throws {
        for record in records { try publish(key: record.key, value: record.value) }
    }
}
