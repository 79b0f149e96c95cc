// libFuzzer target: the decoders of records read from Kafka topics (issue 17 §2): alert
// records on `vigil.alerts` and delivery messages on the delivery topics. Anyone who can
// produce to a topic controls these bytes. Built only with VIGIL_FUZZ=1; see deploy/fuzz.sh.
#if canImport(Glibc)
import Glibc
#endif
import FuzzDriver
import VigilCrypto
@testable import VigilKafka

/// A fixed MAC key, so the fuzzer can reach the decoder behind the signature check.
private let macKey = [UInt8](repeating: 0x42, count: 32)
private let signedPrefix = Array(#"{"vigil":1,"mac":""#.utf8)

/// The first byte chooses how the rest is read: as it is (forged records, foreign values),
/// or signed with the MAC key first, as if a Vigil holding the key had written it.
private func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let mode = data[0]
    let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))

    // Delivery messages: whatever decodes must encode and decode to itself.
    if let message = KafkaDeliveryMessage(decoding: rest) {
        let again = KafkaDeliveryMessage(decoding: message.encoded())
        check(again == message, "a delivery message changes through its encoding")
    }

    // Alert records.
    let value: [UInt8]
    if mode & 1 == 1 {
        let mac = Array(Hex.encode(HMAC.sha256(key: macKey, message: rest)).utf8)
        value = signedPrefix + mac + Array("\",".utf8) + rest
    } else {
        value = rest
    }
    guard KafkaAlertRecord.looksSigned(value) else { return 0 }
    do {
        let record = try KafkaAlertRecord(decoding: value, macKey: macKey)
        let again = try KafkaAlertRecord(decoding: record.encoded(macKey: macKey), macKey: macKey)
        check(again == record, "an alert record changes through its encoding")
    } catch {
        _ = error.description
    }
    return 0
}

runFuzzer { data, size in
    guard let data else { return 0 }
    return fuzzOne(data, size)
}
