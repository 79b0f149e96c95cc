/// A failure reported by librdkafka, in words an operator can act on.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What Vigil was doing and what librdkafka said.
    public let description: String

    /// An error with `description`.
    public init(_ description: String) { self.description = description }
}
