import CRdKafka

/// Creating an `rd_kafka_t` from a configuration; the one place the error buffer is read.
enum KafkaClientHandle {
    /// A new producer or consumer client; on success librdkafka owns `conf`.
    static func make(_ type: rd_kafka_type_t, _ conf: OpaquePointer, what: String) throws(KafkaError) -> OpaquePointer {
        var errorText = [CChar](repeating: 0, count: 512)
        guard let client = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError("cannot create the \(what): \(text(errorText))")
        }
        return client
    }

    /// A NUL-terminated C buffer as text.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// librdkafka's words for `code`.
    static func describe(_ code: rd_kafka_resp_err_t) -> String { String(cString: rd_kafka_err2str(code)) }
}
