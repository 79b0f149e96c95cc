// libFuzzer target: validation of what filers and administrators send (issue 17 §2): alert
// submissions, subscriber submissions and replay requests. Built only with VIGIL_FUZZ=1;
// see deploy/fuzz.sh.
#if canImport(Glibc)
import Glibc
#endif
import FuzzDriver
import Foundation
import VigilCore

/// A fixed reception time and id, so a crash reproduces from its input alone.
private let receivedAt = Timestamp(milliseconds: 1_796_630_400_000)  // 2026-12-07T00:00:00Z
private let alertID = ULID(time: receivedAt, randomness: [UInt8](repeating: 7, count: 10))

/// The same bytes go through each validator. Whatever validation accepts must be written
/// the same by `JSONWriter` and `JSONEncoder`, read back equal, and redact without trapping.
private func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? ReplayRequest(json: bytes)
    guard let body = try? JSONParser.parse(bytes) else { return 0 }

    if let alert = try? AlertSubmission(body: body).validate(id: alertID, receivedAt: receivedAt, organisation: "Fuzz Org") {
        let written = alert.jsonBytes()
        guard let encoded = try? VigilJSON.encode(alert) else { fatalError("JSONEncoder cannot encode a validated alert") }
        check(written == Array(encoded), "JSONWriter and JSONEncoder disagree on a validated alert")
        guard let decoded = try? VigilJSON.decode(Alert.self, from: Data(written)) else {
            fatalError("a validated alert's JSON does not decode: \(String(decoding: written, as: UTF8.self).debugDescription)")
        }
        check(decoded == alert, "a validated alert changes through its JSON")
        for clearance in Confidentiality.allCases { _ = alert.redacted(for: clearance).jsonBytes() }
    }

    var channelNumber = 0
    if let subscriber = try? SubscriberSubmission(body: body).validate(id: "sub_fuzz", newChannelID: {
        channelNumber += 1
        return "ch_\(channelNumber)"
    }) {
        guard let encoded = try? VigilJSON.encode(subscriber) else { fatalError("JSONEncoder cannot encode a validated subscriber") }
        guard let decoded = try? VigilJSON.decode(Subscriber.self, from: encoded) else {
            fatalError("a validated subscriber's JSON does not decode")
        }
        check(decoded == subscriber, "a validated subscriber changes through its JSON")
    }
    return 0
}

runFuzzer { data, size in
    guard let data else { return 0 }
    return fuzzOne(data, size)
}
