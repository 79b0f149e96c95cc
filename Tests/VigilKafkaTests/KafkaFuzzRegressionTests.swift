import Testing
@testable import VigilKafka

/// Inputs libFuzzer found (deploy/fuzz.sh, target FuzzKafkaRecords) that crashed Vigil, kept
/// byte for byte so the crash cannot come back.
@Suite struct KafkaFuzzRegressionTests {
    /// Found in FuzzKafkaRecords' first seconds on c1ebd4d: a delivery message whose
    /// `first_attempt_at` has 56 digits. `Int64(Double)` trapped with "Double value cannot be
    /// converted to Int64 because the result would be greater than Int64.max" in
    /// `KafkaDeliveryMessage.init(decoding:)`, so anyone able to produce to a delivery topic
    /// could stop every worker reading it. Now the message is refused with a reason.
    @Test func aDeliveryMessageWithAFirstAttemptOfFiftySixDigitsIsRefusedNotTrapped() {
        let input: [UInt8] = Array(
            (#"{"alert_id":"01KBTZ0000E0W3GE0W3GE0W3GE","alert_offset":7,"attempts":2,"channel_id":"ch_1","#
                + #""channel_type":"webhook","clearance":"restricted","created_at":1796630400000,"#
                + #""first_attempt_at":17966304011111111111111111111111111111111111111111110000,"#
                + #""id":"d1","last_error":"the receiver answered 503","next_attempt_at":1796630401000,"reason":"matched","#
                + #""replay_id":null,"severity":"critical","state":"pending","subscriber_id":"sub_1","updated_at":1796630400000}"#).utf8)
        #expect(KafkaDeliveryMessage(decoding: input) == nil)
        guard case .failure(let refusal) = KafkaDeliveryMessage.decode(input) else {
            Issue.record("a first_attempt_at of 1.8e55 ms was accepted")
            return
        }
        #expect(refusal.reason.contains("first_attempt_at"), "\(refusal.reason)")
    }
}
