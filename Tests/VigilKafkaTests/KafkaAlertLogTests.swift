import Foundation
import Testing
import VigilCore
import VigilCrypto
import VigilKafka

/// A sealed, signed alert log on librdkafka's mock cluster: reads, idempotency, erasure,
/// forgeries, a second process's view, and the master-key check.
@Suite(.serialized) struct KafkaAlertLogTests {
    let masterKey = Array(repeating: UInt8(7), count: 32)
    var cipher: IdentityCipher { IdentityCipher(masterKey: masterKey) }
    let macKey = Array(repeating: UInt8(9), count: 32)

    func alert(_ country: String = "BY", name: String = "Log Defender", caseID: String? = nil) -> Alert {
        let now = Timestamp.now()
        var alert = Alert(
            id: ULID(time: now).description, receivedAt: now, country: CountryCode(country)!, threat: .arrest, severity: .critical,
            certainty: .observed, defender: Defender(name: name, organisation: "Free Union"), summary: "\(name) was arrested.",
            source: AlertSource(organisation: "partner"))
        if let caseID { alert.caseID = caseID }
        return alert
    }

    func append(_ log: KafkaAlertLog, _ alert: Alert, claim: IdempotencyClaim? = nil) -> Result<AppendReceipt, AlertLogError> {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<AppendReceipt, AlertLogError> = .failure(.closed)
        log.append(alert, idempotency: claim) { result = $0; done.signal() }
        _ = done.wait(timeout: .now() + 30)
        return result
    }

    /// A reader following the log with a cursor sees an alert a lower partition takes after
    /// the cursor was made: one offset, compared across partitions, never did (issue 23).
    @Test func aCursorFollowsEveryPartition() throws {
        let cluster = try KafkaMockCluster.withVigilTopics(partitions: 4)
        let log = try KafkaAlertLog(bootstrapServers: cluster.bootstrapServers, signer: .forTests, cipher: cipher, macKey: macKey)
        defer { log.close() }
        let countries = ["BY", "PH", "RU", "IR", "CO", "BE"]
        for country in countries { _ = try append(log, alert(country)).get() }
        let end = try log.endCursor()
        #expect(try log.alerts(matching: AlertQuery(after: end)).isEmpty)
        let partitions = Set(try log.alerts(matching: AlertQuery()).map { AlertCursor.stream(of: $0.offset) })
        #expect(partitions.count >= 3, "the countries spread over partitions: \(partitions)")
        // The newest partition's last offset, as one number: what `after=end` gave before cursors.
        let last = try log.lastOffset()
        var later: [String] = []
        for country in countries { later.append(try append(log, alert(country)).get().id) }
        #expect(Set(try log.alerts(matching: AlertQuery(after: end)).map(\.alert.id)) == Set(later))
        #expect(try log.alerts(matching: AlertQuery(after: AlertCursor(after: last))).count < later.count, "one offset misses the lower partitions")
        // Paging one alert at a time through the cursors each page gives lists every alert once.
        var cursor = AlertCursor.start, paged: [String] = []
        for _ in 0..<50 {
            let page = try log.alerts(matching: AlertQuery(limit: 1, after: cursor))
            guard let stored = page.first else { break }
            paged.append(stored.alert.id)
            cursor.advance(past: stored.offset)
            cursor = try #require(AlertCursor(Substring(cursor.description)), "a cursor reads back as written")
        }
        #expect(paged.count == countries.count * 2 && Set(paged).count == paged.count)
    }

    @Test func offsetsKeepEachPartitionsOrder() {
        let a = KafkaAlertLog.logOffset(partition: 0, offset: 41), b = KafkaAlertLog.logOffset(partition: 0, offset: 42)
        let c = KafkaAlertLog.logOffset(partition: 3, offset: 0)
        #expect(a < b && b < c && a > 0)
        #expect(KafkaAlertLog.position(of: c) == (3, 0) && KafkaAlertLog.position(of: b) == (0, 42))
    }

    @Test func aRecordIsSignedAndAnyChangeBreaksTheSignature() throws {
        let record = KafkaAlertRecord(
            view: alert().sealedView, sealedIdentity: [1, 2, 3], keyID: "key_1",
            claim: IdempotencyClaim(organisation: "org", key: "k\"1", fingerprint: "ab"))
        let bytes = record.encoded(macKey: macKey)
        #expect(try KafkaAlertRecord(decoding: bytes, macKey: macKey) == record)
        #expect(throws: KafkaAlertRecord.DecodingError.badSignature) { try KafkaAlertRecord(decoding: bytes, macKey: Array(repeating: 1, count: 32)) }
        var tampered = bytes
        tampered[tampered.count - 20] ^= 1
        #expect(throws: KafkaAlertRecord.DecodingError.badSignature) { try KafkaAlertRecord(decoding: tampered, macKey: macKey) }
        #expect(!KafkaAlertRecord.looksSigned(Array(#"{"country":"BY"}"#.utf8)))
    }

    @Test func appendsAreReadSealedErasedAndSeenByASecondProcess() throws {
        let cluster = try KafkaMockCluster.withVigilTopics()
        let log = try KafkaAlertLog(bootstrapServers: cluster.bootstrapServers, signer: .forTests, cipher: cipher, macKey: macKey)
        defer { log.close() }
        let first = alert("BY", name: "Ilse Vandermeulen"), second = alert("CO", name: "Another Defender")
        let a = try append(log, first).get(), b = try append(log, second).get()
        #expect(a.id == first.id && !a.repeated && a.offset != b.offset)
        #expect(try log.alert(id: first.id)?.alert.defender.name == "Ilse Vandermeulen", "read back with its identity")
        #expect(try log.alerts(matching: AlertQuery(country: CountryCode("CO"))).map(\.alert.id) == [second.id])
        #expect(try log.routingViews(matching: AlertQuery()).allSatisfy { $0.alert.defender.name == RedactionMark.erased })

        // Idempotency: the same claim and body answer the first receipt; another body is refused.
        let claim = IdempotencyClaim(organisation: "partner", key: "retry-1", fingerprint: "f1")
        let keyed = try append(log, alert(), claim: claim).get()
        #expect(try append(log, alert(), claim: claim).get() == AppendReceipt(id: keyed.id, offset: keyed.offset, repeated: true))
        #expect(throws: AlertLogError.idempotencyConflict(key: "retry-1")) {
            try append(log, alert(), claim: IdempotencyClaim(organisation: "partner", key: "retry-1", fingerprint: "f2")).get()
        }

        // A second process reads the same log, claims included, from the cluster.
        let other = try KafkaAlertLog(bootstrapServers: cluster.bootstrapServers, signer: .forTests, cipher: cipher, macKey: macKey)
        defer { other.close() }
        #expect(try other.alert(id: first.id)?.alert.defender.name == "Ilse Vandermeulen")
        #expect(try append(other, alert(), claim: claim).get().id == keyed.id, "a retry through another process gets the first answer")

        // Erasure: the key's tombstone reaches the other process too.
        #expect(try log.erase(.alert(first.id)) == [first.id])
        #expect(try log.alert(id: first.id)?.alert.defender.name == RedactionMark.erased)
        let deadline = Date().addingTimeInterval(10)
        while try other.alert(id: first.id)?.alert.defender.name != RedactionMark.erased && Date() < deadline { usleep(20_000) }
        #expect(try other.alert(id: first.id)?.alert.defender.name == RedactionMark.erased)
        #expect(try other.alert(id: second.id)?.alert.defender.name == "Another Defender", "only the erased alert")

        // Another master key is refused at start.
        #expect(throws: KafkaError.self) {
            _ = try KafkaAlertLog(bootstrapServers: cluster.bootstrapServers, signer: .forTests, cipher: IdentityCipher(masterKey: Array(repeating: 8, count: 32)), macKey: macKey)
        }
    }

    /// Routing views carry what follow-ups are scheduled and checked by (issue 19): the filing
    /// organisation, case status, next event's type and time, handling without its note.
    @Test func routingViewsCarryCaseStatusNextEventAndHandlingWithoutFreeText() throws {
        let cluster = try KafkaMockCluster.withVigilTopics()
        let log = try KafkaAlertLog(bootstrapServers: cluster.bootstrapServers, signer: .forTests, cipher: cipher, macKey: macKey)
        defer { log.close() }
        var filed = alert(caseID: "case-9")
        let eventAt = Timestamp(milliseconds: filed.receivedAt.milliseconds + 86_400_000)
        filed.caseStatus = .charged
        filed.nextEvent = CaseEvent(type: .appeal, at: eventAt, place: "Supreme Court")
        filed.handling = HandlingInstructions(noContactWithDefender: true, excludeSubscribers: ["sub_x"], note: "Call the family first")
        _ = try append(log, filed).get()
        let view = try #require(try log.routingViews(matching: AlertQuery(caseID: "case-9")).first).alert
        #expect(view.source.organisation == "partner" && view.caseStatus == .charged)
        #expect(view.nextEvent == CaseEvent(type: .appeal, at: eventAt))
        #expect(view.handling == HandlingInstructions(noContactWithDefender: true, excludeSubscribers: ["sub_x"]))
        #expect(try log.alert(id: filed.id)?.alert.handling?.note == "Call the family first", "the whole alert keeps its note")
    }

    @Test func aDeliveryMessageRoundTrips() throws {
        let cluster = try KafkaMockCluster.withVigilTopics()
        let queue = try KafkaDeliveryQueue(bootstrapServers: cluster.bootstrapServers, signer: .forTests)
        defer { queue.close() }
        let routed = RoutedDelivery(
            alertID: ULID().description, alertOffset: 5, subscriberID: "sub_1", channelID: "chn_1", channelType: .webhook, clearance: .restricted,
            severity: .high, reason: .matched, initialState: .pending)
        try queue.record([routed])
        let recorded = try queue.deliveries(ofAlert: routed.alertID)
        #expect(recorded.count == 1 && recorded[0].state == .pending && recorded[0].id == DeliveryID.make(alertID: routed.alertID, subscriberID: "sub_1", channelID: "chn_1"))
        #expect(try queue.recipients(ofAlerts: [routed.alertID]) == ["sub_1"])
        // A worker in the group takes it, records it delivered, and every reader sees that.
        let available = DispatchSemaphore(value: 0)
        try queue.startWorking(isReadable: { _ in true }, onAvailable: { available.signal() })
        _ = available.wait(timeout: .now() + 20)
        var claimed: [DeliveryRecord] = []
        let deadline = Date().addingTimeInterval(20)
        while claimed.isEmpty && Date() < deadline {
            claimed = try queue.claimDue(ClaimRequest(limit: 10, leaseMilliseconds: 1000), now: .now())
            usleep(20_000)
        }
        #expect(claimed.map(\.id) == recorded.map(\.id) && claimed.first?.attempts == 1)
        let done = DispatchSemaphore(value: 0)
        queue.complete(recorded[0].id, outcome: .delivered, at: .now()) { _ in done.signal() }
        _ = done.wait(timeout: .now() + 20)
        #expect(try queue.deliveries(ofAlert: routed.alertID).map(\.state) == [.delivered])
        #expect(try queue.countsByState()[.delivered] == 1)
    }
}
