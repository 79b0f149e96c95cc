import Foundation
import Synchronization
import Testing
import VigilCore
import VigilCrypto
@testable import VigilKafka

/// Issue 17 §1 and §3 on Kafka: records with out-of-range numbers are refused (counted and
/// logged), never trapped on; `vigil.alerts` and `vigil.alerts.invalid` hold no free text;
/// a process that reads an erasure's tombstone announces it.
@Suite(.serialized) struct KafkaRecordSafetyTests {
    let masterKey = Array(repeating: UInt8(7), count: 32)
    var cipher: IdentityCipher { IdentityCipher(masterKey: masterKey) }
    let macKey = Array(repeating: UInt8(9), count: 32)

    static let valid: [String: String] = [
        "alert_id": #""01M825CFCJ7PXX86Y361FVVH2B""#, "alert_offset": "5", "attempts": "1", "channel_id": #""chn_1""#,
        "channel_type": #""webhook""#, "clearance": #""restricted""#, "created_at": "1795338843120", "id": #""dlv_1""#,
        "reason": #""matched""#, "severity": #""high""#, "state": #""pending""#, "subscriber_id": #""sub_1""#,
        "updated_at": "1795338843120", "next_attempt_at": "1795338843120", "first_attempt_at": "1795338843120",
    ]

    static func message(_ changes: [String: String]) -> [UInt8] {
        let fields = valid.merging(changes) { $1 }
        return Array(("{" + fields.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}").utf8)
    }

    @Test func aValidDeliveryMessageDecodes() throws {
        let decoded = try KafkaDeliveryMessage.decode(Self.message([:])).get()
        #expect(decoded.record.createdAt.milliseconds == 1_795_338_843_120 && decoded.record.attempts == 1 && decoded.record.alertOffset == 5)
    }

    /// `Int64(1e19)` traps; these must be refused with a reason instead.
    @Test(arguments: [
        ("created_at", "1e19"), ("created_at", "-1e19"), ("updated_at", "1.5"), ("created_at", "9007199254740993000"),
        ("next_attempt_at", "1e300"), ("first_attempt_at", "-1e300"), ("alert_offset", "1e19"), ("alert_offset", "-1"),
        ("attempts", "1e19"), ("attempts", "-3"), ("attempts", "4294967296"), ("created_at", #""soon""#),
    ])
    func outOfRangeNumbersAreRefused(field: String, value: String) {
        let result = KafkaDeliveryMessage.decode(Self.message([field: value]))
        guard case .failure(let refusal) = result else {
            Issue.record("\(field): \(value) was taken")
            return
        }
        #expect(refusal.reason.contains(field) || value.hasPrefix("\""), "\(refusal.reason)")
        #expect(KafkaDeliveryMessage(decoding: Self.message([field: value])) == nil)
    }

    /// A hostile record on `vigil.deliveries.outcomes` is counted and skipped; the process
    /// keeps reading what follows.
    @Test(.timeLimit(.minutes(1))) func aHostileOutcomeIsCountedAndSkipped() throws {
        let cluster = try KafkaMockCluster.withVigilTopics()
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, signer: .forTests)
        let before = KafkaRecordRejections.byTopic[KafkaDeliveryQueue.outcomesTopic] ?? 0
        _ = try producer.produceAndWait(topic: KafkaDeliveryQueue.outcomesTopic, key: Array("dlv_bad".utf8), value: Self.message(["created_at": "1e19", "id": #""dlv_bad""#]))
        _ = try producer.produceAndWait(topic: KafkaDeliveryQueue.outcomesTopic, key: Array("dlv_1".utf8), value: Self.message([:]))
        let queue = try KafkaDeliveryQueue(bootstrapServers: cluster.bootstrapServers, signer: .forTests)
        defer { queue.close() }
        let deadline = Date().addingTimeInterval(20)
        while try queue.deliveries(ofAlert: "01M825CFCJ7PXX86Y361FVVH2B").isEmpty && Date() < deadline { usleep(20_000) }
        #expect(try queue.deliveries(ofAlert: "01M825CFCJ7PXX86Y361FVVH2B").map(\.id) == ["dlv_1"])
        #expect((KafkaRecordRejections.byTopic[KafkaDeliveryQueue.outcomesTopic] ?? 0) >= before + 1)
    }

    /// A signed alert record whose alert carries numbers or impossible times where strings
    /// belong is refused as unreadable, not trapped on.
    @Test(arguments: [#""received_at":1e19"#, #""received_at":"99999-01-01T00:00:00Z""#, #""received_at":-1e19"#])
    func aSignedAlertWithOutOfRangeValuesIsRefused(receivedAt: String) throws {
        let now = Timestamp(milliseconds: 1_795_338_843_120)
        let alert = Alert(
            id: ULID(time: now).description, receivedAt: now, country: CountryCode("BY")!, threat: .arrest, severity: .high,
            certainty: .observed, defender: Defender(name: "x"), summary: "x", source: AlertSource(organisation: "o")).sealedView
        let json = String(decoding: alert.jsonBytes(), as: UTF8.self)
            .replacingOccurrences(of: #""received_at":"\#(now.description)""#, with: receivedAt)
        let rest = Array(#""claim":null,"identity":"AQID","key_id":"key_1","alert":"#.utf8) + Array(json.utf8) + [UInt8(ascii: "}")]
        let mac = Hex.encode(HMAC.sha256(key: macKey, message: rest))
        let record = Array(#"{"vigil":1,"mac":"\#(mac)","#.utf8) + rest
        #expect(throws: KafkaAlertRecord.DecodingError.self) { _ = try KafkaAlertRecord(decoding: record, macKey: macKey) }
    }

    /// The quarantine notice names the record and why, never its bytes: a refused
    /// submission may name a defender.
    @Test func aQuarantineNoticeHoldsNoBytesOfTheRecord() throws {
        let value = Array(#"{"country":"XX","summary":"Tomas Okonkwo was taken","defender":{"name":"Tomas Okonkwo"}}"#.utf8)
        let record = KafkaRecord(topic: "vigil.alerts", partition: 2, offset: 41, key: Array("XX".utf8), value: value, timestamp: 0, signature: nil)
        let notice = String(decoding: KafkaAlertLog.quarantineNotice(record, reason: "country: 'XX' is not a country"), as: UTF8.self)
        #expect(!notice.contains("Okonkwo") && !notice.contains("taken"))
        #expect(notice.contains(#""record_bytes":\#(value.count)"#) && notice.contains(Hex.encode(SHA256.digest(value))))
        #expect(notice.contains(#""partition":2"#) && notice.contains(#""offset":41"#) && notice.contains("country: '…' is not a country"))
        let echoed = String(decoding: KafkaAlertLog.quarantineNotice(record, reason: "threat: 'Tomasz Okonkwo' is not one of: arrest; country: 'XX'"), as: UTF8.self)
        #expect(!echoed.contains("Okonkwo") && echoed.contains("threat: '…' is not one of: arrest; country: '…'"), "\(echoed)")
        let long = KafkaAlertLog.quarantineNotice(record, reason: String(repeating: "é", count: 10_000))
        #expect(long.count < KafkaAlertLog.maxReasonBytes + 200)
    }

    func append(_ log: KafkaAlertLog, _ alert: Alert) throws -> AppendReceipt {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<AppendReceipt, AlertLogError>>(.failure(.closed))
        log.append(alert, idempotency: nil) { outcome in
            result.withLock { $0 = outcome }
            done.signal()
        }
        _ = done.wait(timeout: .now() + 30)
        return try result.withLock { $0 }.get()
    }

    /// `vigil.alerts` holds no free text, links or tags, before or after erasure; a second
    /// process that reads the tombstone announces the erasure (and so does the first).
    @Test(.timeLimit(.minutes(1))) func recordsHoldNoFreeTextAndTombstonesAreAnnounced() throws {
        let cluster = try KafkaMockCluster.withVigilTopics()
        let log = try KafkaAlertLog(bootstrapServers: cluster.bootstrapServers, signer: .forTests, cipher: cipher, macKey: macKey)
        defer { log.close() }
        let other = try KafkaAlertLog(bootstrapServers: cluster.bootstrapServers, signer: .forTests, cipher: cipher, macKey: macKey)
        defer { other.close() }
        let now = Timestamp.now()
        let alert = Alert(
            id: ULID(time: now).description, receivedAt: now, country: CountryCode("BY")!, region: "Kastrychnitski district", threat: .arrest,
            severity: .critical, certainty: .observed, confidentiality: .confidential,
            defender: Defender(name: "Ilse Vandermeulen", organisation: "Free Union"), summary: "She was detained at her home.",
            summaryPublic: "A leader was quietly taken.", source: AlertSource(organisation: "partner"), tags: ["vandermeulen-case"],
            links: ["https://evidence.example.org/17"])
        let heardHere = Mutex<[String]>([]), heardThere = Mutex<[String]>([])
        let here = log.observeErasures { ids in heardHere.withLock { $0 += ids } }
        let there = other.observeErasures { ids in heardThere.withLock { $0 += ids } }
        defer { here.cancel(); there.cancel() }
        _ = try append(log, alert)
        var deadline = Date().addingTimeInterval(10)
        while !other.contains(alert.id) && Date() < deadline { usleep(20_000) }
        #expect(try other.alert(id: alert.id)?.alert == alert, "a second process opens everything while the key exists")

        let reader = try KafkaTopicReader(bootstrapServers: cluster.bootstrapServers, topics: [KafkaAlertLog.topic])
        defer { reader.close() }
        var raw = ""
        deadline = Date().addingTimeInterval(10)
        while !raw.contains(alert.id) && Date() < deadline {
            if let record = try reader.poll(timeout: 0.1), let value = record.value { raw += String(decoding: value, as: UTF8.self) }
        }
        #expect(raw.contains(alert.id))
        for secret in ["Vandermeulen", "detained", "quietly", "Kastrychnitski", "vandermeulen-case", "evidence.example.org"] {
            #expect(!raw.contains(secret), "\(secret) is in vigil.alerts in the clear")
        }

        #expect(try log.erase(.alert(alert.id)) == [alert.id])
        #expect(heardHere.withLock { $0 }.contains(alert.id))
        deadline = Date().addingTimeInterval(10)
        while heardThere.withLock({ $0 }).isEmpty && Date() < deadline { usleep(20_000) }
        #expect(heardThere.withLock { $0 } == [alert.id], "the other process read the tombstone and announced it")
        let erased = try #require(try other.alert(id: alert.id)).alert
        #expect(erased.summary == RedactionMark.erased && erased.links.isEmpty && erased.tags.isEmpty && erased.region == RedactionMark.erased)
    }

    @Test func sharedStateRecordsWithNumbersOutOfRangeAreNamed() {
        #expect(KafkaRecordRejections.numberOutOfRange(in: Array(#"{"created_at":1795338843120,"id":"tok_1","revoked_at":null}"#.utf8)) == nil)
        #expect(KafkaRecordRejections.numberOutOfRange(in: Array(#"{"created_at":1e19,"id":"tok_1"}"#.utf8)) == "$.created_at is not a whole number within ±2^53")
        #expect(KafkaRecordRejections.numberOutOfRange(in: Array(#"{"secrets":[{"n":1.5}]}"#.utf8)) == "$.secrets[0].n is not a whole number within ±2^53")
        #expect(KafkaRecordRejections.numberOutOfRange(in: Array("not json".utf8)) == nil)
    }
}
