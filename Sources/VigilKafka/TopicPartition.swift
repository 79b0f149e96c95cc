/// One partition of one topic: where a record lives, what a consumer owns, what a commit names.
public struct TopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The topic's name.
    public let topic: String
    /// The partition's number in the topic.
    public let partition: Int32

    /// The partition `partition` of `topic`.
    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// `topic/partition`, as log lines print it.
    public var description: String { "\(topic)/\(partition)" }

    public static func < (a: TopicPartition, b: TopicPartition) -> Bool {
        (a.topic, a.partition) < (b.topic, b.partition)
    }
}
