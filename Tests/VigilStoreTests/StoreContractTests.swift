import Foundation
import Synchronization
import Testing
import VigilCore
import VigilCrypto
import VigilTestSupport
@testable import VigilStore

/// The same checks against the embedded store and the in-memory doubles of
/// `VigilTestSupport`: what passes for both proves the doubles faithful where the router,
/// replays and workers can tell, so tests written against the doubles say something about
/// the real thing.
enum StoreKind: String, CaseIterable, CustomStringConvertible {
    case embedded, inMemory
    var description: String { rawValue }

    func makeLog() throws -> any AlertLog {
        switch self {
        case .embedded: try EmbeddedAlertLog(database: try Database(path: temporaryDatabasePath()), masterKey: testMasterKey)
        case .inMemory: InMemoryAlertLog()
        }
    }

    func makeQueue() throws -> any DeliveryQueue & RoutingLedger {
        switch self {
        case .embedded: EmbeddedDeliveryQueue(database: try Database(path: temporaryDatabasePath()))
        case .inMemory: InMemoryDeliveryQueue()
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct AlertLogContractTests {
    @Test(arguments: StoreKind.allCases)
    func offsetsGrowAndAlertsReadBack(kind: StoreKind) async throws {
        let log = try kind.makeLog()
        #expect(try log.lastOffset() == 0)
        let alerts = [makeAlert(), makeAlert(country: "CO"), makeAlert(country: "PH")]
        var offsets: [LogOffset] = []
        for alert in alerts { offsets.append(try await log.appended(alert).get().offset) }
        #expect(offsets == offsets.sorted() && Set(offsets).count == 3 && offsets[0] > 0)
        #expect(try log.lastOffset() == offsets[2])
        #expect(try log.alert(id: alerts[1].id) == StoredAlert(offset: offsets[1], alert: alerts[1]))
        #expect(try log.alert(id: ULID().description) == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func queriesSelectByOffsetTimeCountryCaseAndLimit(kind: StoreKind) async throws {
        let log = try kind.makeLog()
        let base: Int64 = 1_795_338_843_000
        var alerts: [Alert] = []
        for (i, country) in ["BY", "CO", "PH", "BY", "GT", "BY"].enumerated() {
            let alert = makeAlert(country: country, at: base + Int64(i) * 1000)
            alerts.append(alert)
            _ = try await log.appended(alert).get()
        }
        let update = makeAlert(at: base + 6000, caseID: alerts[0].id, kind: .update)
        _ = try await log.appended(update).get()
        func ids(_ query: AlertQuery) throws -> [String] { try log.alerts(matching: query).map(\.alert.id) }
        #expect(try ids(AlertQuery(country: CountryCode("BY"))) == [alerts[0].id, alerts[3].id, alerts[5].id, update.id])
        #expect(try ids(AlertQuery(fromOffset: 2, toOffset: 4)) == alerts[1...3].map(\.id))
        #expect(try ids(AlertQuery(since: Timestamp(milliseconds: base + 1000), until: Timestamp(milliseconds: base + 3000))) == [alerts[1].id, alerts[2].id])
        #expect(try ids(AlertQuery(caseID: alerts[0].id)) == [alerts[0].id, update.id])
        #expect(try ids(AlertQuery(limit: 2)) == [alerts[0].id, alerts[1].id])
        #expect(try ids(AlertQuery(limit: 0)).isEmpty)
        let views = try log.routingViews(matching: AlertQuery(country: CountryCode("BY")))
        #expect(views.map(\.alert.id) == [alerts[0].id, alerts[3].id, alerts[5].id, update.id])
        #expect(views.allSatisfy { $0.alert.defender.name.isEmpty && $0.alert.summary.isEmpty }, "routing views carry no identity")
        let last = try #require(views.last).alert
        #expect(last.caseID == alerts[0].id && last.kind == .update && last.receivedAt == update.receivedAt && last.country == update.country)
    }

    @Test(arguments: StoreKind.allCases)
    func idempotencyClaimsAnswerTheFirstReceiptAndRefuseAnotherBody(kind: StoreKind) async throws {
        let log = try kind.makeLog()
        let claim = IdempotencyClaim(organisation: "partner", key: "k-1", fingerprint: "body-a")
        let first = try await log.appended(makeAlert(), idempotency: claim).get()
        let retry = try await log.appended(makeAlert(), idempotency: claim).get()
        #expect(retry == AppendReceipt(id: first.id, offset: first.offset, repeated: true))
        #expect(await log.appended(makeAlert(), idempotency: IdempotencyClaim(organisation: "partner", key: "k-1", fingerprint: "body-b"))
            == .failure(.idempotencyConflict(key: "k-1")))
        let other = try await log.appended(makeAlert(), idempotency: IdempotencyClaim(organisation: "other", key: "k-1", fingerprint: "body-b")).get()
        #expect(!other.repeated && other.offset > first.offset)
        #expect(try log.alerts(matching: AlertQuery()).count == 2)
    }

    /// Observers hear of every fresh append (not of a repeated one) with its offset, until cancelled.
    @Test(arguments: StoreKind.allCases)
    func appendObserversHearFreshAppendsUntilCancelled(kind: StoreKind) async throws {
        let log = try kind.makeLog()
        let heard = Mutex<[LogOffset]>([])
        let observation = log.observeAppends { offset in heard.withLock { $0.append(offset) } }
        let claim = IdempotencyClaim(organisation: "o", key: "k", fingerprint: "f")
        let a = try await log.appended(makeAlert(), idempotency: claim).get()
        _ = try await log.appended(makeAlert(), idempotency: claim).get()
        let b = try await log.appended(makeAlert()).get()
        #expect(await waitUntil(within: 5) { heard.withLock { $0 } == [a.offset, b.offset] })
        observation.cancel()
        _ = try await log.appended(makeAlert()).get()
        #expect(heard.withLock { $0 } == [a.offset, b.offset])
    }

    /// An erasure of a case names its alerts in log order, reads show them `[erased]` from
    /// then on (routing fields intact), other alerts keep their identity, observers hear it.
    @Test(arguments: StoreKind.allCases)
    func erasureMarksTheAlertsItNamesAndTellsObservers(kind: StoreKind) async throws {
        let log = try kind.makeLog()
        let first = makeAlert(), other = makeAlert(country: "CO")
        let update = makeAlert(caseID: first.id, kind: .update)
        for alert in [first, other, update] { _ = try await log.appended(alert).get() }
        let heard = Mutex<[[String]]>([])
        let observation = log.observeErasures { ids in heard.withLock { $0.append(ids) } }
        defer { observation.cancel() }
        #expect(try log.erase(.caseID(first.id)) == [first.id, update.id])
        for id in [first.id, update.id] {
            let read = try #require(try log.alert(id: id))
            #expect(read.alert.defender.name == RedactionMark.erased && read.alert.summary == RedactionMark.erased)
            #expect(read.alert.country == CountryCode("BY") && read.alert.severity == .critical)
        }
        #expect(try log.alerts(matching: AlertQuery(caseID: first.id)).allSatisfy { $0.alert.defender.name == RedactionMark.erased })
        #expect(try log.alert(id: other.id)?.alert.defender.name == "Test Defender")
        #expect(heard.withLock { $0 } == [[first.id, update.id]])
        #expect(try log.erase(.alert(ULID().description)) == [])
        #expect(heard.withLock { $0 }.count == 1, "an erasure of nothing tells no one")
    }
}

@Suite(.timeLimit(.minutes(1))) struct DeliveryQueueContractTests {
    static func routed(
        _ alertID: String, to subscriber: String, offset: LogOffset = 1, severity: Severity = .high, state: DeliveryState = .pending
    ) -> RoutedDelivery {
        RoutedDelivery(
            alertID: alertID, alertOffset: offset, subscriberID: subscriber, channelID: "chn_\(subscriber)", channelType: .webhook,
            clearance: .restricted, severity: severity, reason: .matched, initialState: state)
    }

    /// A routing records its deliveries under their stable ids and moves the consumer's
    /// position; recording them again changes nothing; skipped deliveries are no recipients.
    @Test(arguments: StoreKind.allCases)
    func routingIsRecordedOnceWithItsPosition(kind: StoreKind) throws {
        let queue = try kind.makeQueue()
        let alert = ULID().description, test = ULID().description
        #expect(try queue.position(of: "router") == 0)
        try queue.recordRouting([Self.routed(alert, to: "a"), Self.routed(alert, to: "b"), Self.routed(test, to: "c", state: .skipped)], through: 7, consumer: "router")
        try queue.recordRouting([Self.routed(alert, to: "a")], through: 9, consumer: "router")
        #expect(try queue.position(of: "router") == 9)
        #expect(try queue.position(of: "other") == 0)
        let records = try queue.deliveries(ofAlert: alert)
        #expect(records.map(\.subscriberID) == ["a", "b"])
        #expect(records.map(\.id) == ["a", "b"].map { DeliveryID.make(alertID: alert, subscriberID: $0, channelID: "chn_\($0)") })
        #expect(records.allSatisfy { $0.state == .pending && $0.attempts == 0 && $0.reason == .matched && $0.replayID == nil })
        #expect(try queue.deliveries(ofAlert: test).map(\.state) == [.skipped])
        #expect(try queue.recipients(ofAlerts: [alert, test]) == ["a", "b"])
        #expect(try queue.countsByState() == [.pending: 2, .skipped: 1])
    }

    /// `record` (the API's reports of an acknowledgement) records like a routing, once, and
    /// moves no consumer's position.
    @Test(arguments: StoreKind.allCases)
    func recordingWithoutAPositionRecordsOnceAndMovesNoConsumer(kind: StoreKind) throws {
        let queue = try kind.makeQueue()
        let alert = ULID().description
        try queue.recordRouting([Self.routed(alert, to: "a")], through: 4, consumer: "router")
        try queue.record([Self.routed(alert, to: "a"), Self.routed(alert, to: "r")])
        try queue.record([Self.routed(alert, to: "r")])
        #expect(try queue.position(of: "router") == 4)
        #expect(try queue.deliveries(ofAlert: alert).map(\.subscriberID) == ["a", "r"])
        #expect(try queue.countsByState() == [.pending: 2])
    }

    /// Claims take critical work first and live work before replays, mark it in flight under
    /// a lease, and take it again once the lease has expired.
    @Test(arguments: StoreKind.allCases)
    func claimsTakeCriticalFirstThenReplaysAndExpiredLeases(kind: StoreKind) throws {
        let queue = try kind.makeQueue()
        let old = ULID().description, high = ULID().description, critical = ULID().description
        try queue.recordRouting([Self.routed(old, to: "r")], through: 1, consumer: "router")
        #expect(try queue.recordReplay([Self.routed(old, to: "r", severity: .critical)], replayID: "rpl_1") == 1)
        try queue.recordRouting([Self.routed(high, to: "h"), Self.routed(critical, to: "c", severity: .critical)], through: 2, consumer: "router")
        let now = Timestamp(milliseconds: Timestamp.now().milliseconds + 1)
        let first = try queue.claimDue(ClaimRequest(limit: 2, leaseMilliseconds: 1000), now: now)
        #expect(first.map(\.alertID) == [critical, high], "live work first, critical before high")
        #expect(first.allSatisfy { $0.state == .inFlight && $0.attempts == 1 })
        let replay = try queue.claimDue(ClaimRequest(limit: 5, leaseMilliseconds: 1000), now: now)
        #expect(replay.map(\.replayID) == ["rpl_1"] && replay.first?.reason == .replay)
        #expect(try queue.claimDue(ClaimRequest(limit: 5, leaseMilliseconds: 1000), now: now).isEmpty)
        #expect(try queue.nextDueTime() == Timestamp(milliseconds: now.milliseconds + 1000), "the leases' end")
        let afterLease = Timestamp(milliseconds: now.milliseconds + 1000)
        let again = try queue.claimDue(ClaimRequest(limit: 5, leaseMilliseconds: 1000), now: afterLease)
        #expect(Set(again.map(\.alertID)) == [old, high, critical] && again.allSatisfy { $0.attempts == 2 })
        #expect(try queue.firstAttempt(of: first[0].id) == now)
    }

    /// Outcomes move the states: delivered, retried when due, dead until retried by hand.
    @Test(arguments: StoreKind.allCases)
    func outcomesDeadLettersAndRetries(kind: StoreKind) async throws {
        let queue = try kind.makeQueue()
        let alert = ULID().description
        try queue.recordRouting(["a", "b", "c"].map { Self.routed(alert, to: $0) }, through: 1, consumer: "router")
        let now = Timestamp(milliseconds: Timestamp.now().milliseconds + 1)
        let claimed = Dictionary(uniqueKeysWithValues: try queue.claimDue(ClaimRequest(limit: 3, leaseMilliseconds: 60_000), now: now).map { ($0.subscriberID, $0.id) })
        let retryAt = Timestamp(milliseconds: now.milliseconds + 5000)
        let outcomes: [(String, DeliveryOutcome)] = [("a", .delivered), ("b", .retry(at: retryAt, error: "the receiver answered 503")), ("c", .dead(error: "gone"))]
        for (subscriber, outcome) in outcomes {
            let id = try #require(claimed[subscriber])
            let failure: String? = await withCheckedContinuation { continuation in
                queue.complete(id, outcome: outcome, at: now) { continuation.resume(returning: $0.map { String(describing: $0) }) }
            }
            #expect(failure == nil)
        }
        #expect(try queue.countsByState() == [.delivered: 1, .failed: 1, .dead: 1])
        #expect(try queue.nextDueTime() == retryAt)
        #expect(try queue.claimDue(ClaimRequest(limit: 3, leaseMilliseconds: 60_000), now: now).isEmpty)
        #expect(try queue.claimDue(ClaimRequest(limit: 3, leaseMilliseconds: 60_000), now: retryAt).map(\.subscriberID) == ["b"])
        let dead = try queue.deadLetters(limit: 10)
        #expect(dead.map(\.subscriberID) == ["c"] && dead.first?.lastError == "gone")
        #expect(try queue.retryDead(dead[0].id, at: retryAt))
        #expect(try !queue.retryDead(dead[0].id, at: retryAt), "no longer dead")
        #expect(try queue.firstAttempt(of: dead[0].id) == nil, "a fresh budget")
        #expect(try queue.claimDue(ClaimRequest(limit: 3, leaseMilliseconds: 60_000), now: retryAt).map(\.subscriberID) == ["c"])
    }

    /// A replay puts a finished delivery back with a fresh budget and its id, inserts a new
    /// one, and leaves one in flight to finish.
    @Test(arguments: StoreKind.allCases)
    func aReplayRequeuesAllButWhatIsInFlight(kind: StoreKind) throws {
        let queue = try kind.makeQueue()
        let alert = ULID().description
        try queue.recordRouting([Self.routed(alert, to: "done"), Self.routed(alert, to: "busy")], through: 1, consumer: "router")
        let now = Timestamp(milliseconds: Timestamp.now().milliseconds + 1)
        let claimed = try queue.claimDue(ClaimRequest(limit: 1, leaseMilliseconds: 60_000, onlyChannels: ["chn_done"]), now: now)
        #expect(claimed.map(\.subscriberID) == ["done"])
        queue.complete(claimed[0].id, outcome: .dead(error: "refused"), at: now) { _ in }
        _ = try queue.claimDue(ClaimRequest(limit: 1, leaseMilliseconds: 60_000, onlyChannels: ["chn_busy"]), now: now)
        let queued = try queue.recordReplay(["done", "busy", "new"].map { Self.routed(alert, to: $0) }, replayID: "rpl_2")
        #expect(queued == 2)
        let states = Dictionary(uniqueKeysWithValues: try queue.deliveries(ofAlert: alert).map { ($0.subscriberID, $0) })
        #expect(states["done"]?.state == .pending && states["done"]?.attempts == 0 && states["done"]?.replayID == "rpl_2" && states["done"]?.lastError == nil)
        #expect(states["new"]?.state == .pending && states["new"]?.reason == .replay && states["new"]?.replayID == "rpl_2")
        #expect(states["busy"]?.state == .inFlight && states["busy"]?.replayID == nil)
    }
}
