import VigilKafka

extension KafkaRecordSigner {
    /// The signer every Vigil client in these tests shares, as the processes of one
    /// deployment share one master key.
    static let forTests = KafkaRecordSigner(key: Array(repeating: 7, count: 32))
}
