import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilDelivery

/// The pool with its webhook transport injected: nothing leaves the process.
@Suite struct DeliveryWorkerPoolTests {
    /// Answers every POST with the next of `answers` (the last one repeats) and keeps the requests.
    final class FakeTransport: WebhookTransport {
        private let state: Mutex<(answers: [Result<HTTPOutcome, TransportError>], requests: [CurlRequest])>

        init(_ answers: [Result<HTTPOutcome, TransportError>]) { state = Mutex((answers, [])) }

        func post(_ request: CurlRequest, completion: @escaping @Sendable (Result<HTTPOutcome, TransportError>) -> Void) {
            let answer = state.withLock { state in
                state.requests.append(request)
                return state.answers.count > 1 ? state.answers.removeFirst() : state.answers[0]
            }
            DispatchQueue.global().async { completion(answer) }
        }

        var requests: [CurlRequest] { state.withLock { $0.requests } }
    }

    /// A queue holding `due` until claimed, recording outcomes.
    final class FakeQueue: DeliveryWorkQueue {
        private let state: Mutex<(due: [DeliveryRecord], gathered: [DeliveryRecord], outcomes: [String: DeliveryOutcome], settled: [String])>

        /// A queue with `due` to claim, and `gathered` the deliveries digests find.
        init(_ due: [DeliveryRecord], gathered: [DeliveryRecord] = []) { state = Mutex((due, gathered, [:], [])) }

        var outcomes: [String: DeliveryOutcome] { state.withLock { $0.outcomes } }
        /// What delivered digests settled.
        var settled: [String] { state.withLock { $0.settled } }

        func claimDue(_ claim: ClaimRequest, now: Timestamp) throws -> [DeliveryRecord] {
            state.withLock { state in
                let taken = Array(state.due.prefix(claim.limit))
                state.due.removeFirst(taken.count)
                return taken
            }
        }
        func complete(
            _ id: String, outcome: DeliveryOutcome, settling gathered: [String], at now: Timestamp, completion: @escaping @Sendable (Error?) -> Void
        ) {
            state.withLock {
                $0.outcomes[id] = outcome
                $0.settled += gathered
            }
            completion(nil)
        }
        func gathered(into digest: DeliveryRecord) throws -> [DeliveryRecord] { state.withLock { $0.gathered.filter { $0.isGathered(into: digest) } } }
        func firstAttempt(of id: String) throws -> Timestamp? { nil }
        func nextDueTime() throws -> Timestamp? { nil }
        func deadLetters(limit: Int) throws -> [DeliveryRecord] { [] }
        func retryDead(_ id: String, at now: Timestamp) throws -> Bool { false }
        func countsByState() throws -> [DeliveryState: Int] { [:] }
        func recordRouting(_ deliveries: [RoutedDelivery], through offset: LogOffset, consumer: String) throws {}
        func position(of consumer: String) throws -> LogOffset { 0 }
        func deliveries(ofAlert id: String) throws -> [DeliveryRecord] { [] }
        func recipients(ofAlerts ids: [String]) throws -> Set<String> { [] }
        func recordReplay(_ deliveries: [RoutedDelivery], replayID: String) throws -> Int { 0 }
    }

    /// A log of one alert, which `erase` seals for good.
    final class OneAlertLog: AlertLog {
        private let current: Mutex<StoredAlert>
        init(_ alert: Alert) { current = Mutex(StoredAlert(offset: 1, alert: alert)) }

        var stored: StoredAlert { current.withLock { $0 } }

        func append(_ alert: Alert, idempotency: IdempotencyClaim?, completion: @escaping @Sendable (Result<AppendReceipt, AlertLogError>) -> Void) {
            completion(.failure(.closed))
        }
        func alert(id: String) throws -> StoredAlert? { id == stored.alert.id ? stored : nil }
        func alerts(matching query: AlertQuery) throws -> [StoredAlert] { [stored] }
        func routingViews(matching query: AlertQuery) throws -> [StoredAlert] { [stored] }
        func lastOffset() throws -> LogOffset { 1 }
        func observeAppends(_ handler: @escaping @Sendable (LogOffset) -> Void) -> AppendObservation { AppendObservation {} }
        func erase(_ target: ErasureTarget) throws -> [String] {
            current.withLock { $0 = StoredAlert(offset: 1, alert: $0.alert.sealedView) }
            return [stored.alert.id]
        }
    }

    /// One subscriber with one webhook channel.
    struct OneSubscriber: SubscriberDirectory {
        let subscriber: Subscriber
        let secret = WebhookSecret.generate().description

        func subscriber(id: String) throws -> Subscriber? { id == subscriber.id ? subscriber : nil }
        func secrets(channelID: String) throws -> [String] { [secret] }
        func disabledReason(channelID: String) throws -> String? { nil }
        func disable(channelID: String, reason: String) throws {}
    }

    static let subscriber = Subscriber(
        id: "sub_1", name: "Desk", kind: .embassy, organisation: "Org", contact: "desk@example.org", clearance: .confidential,
        language: "en", channels: [Channel(id: "ch_1", type: .webhook, url: "http://127.0.0.1:9/hook")], subscriptions: [])

    static func delivery(_ n: Int, alert: Alert) -> DeliveryRecord {
        DeliveryRecord(
            id: "dlv_\(n)", alertID: alert.id, alertOffset: 1, subscriberID: "sub_1", channelID: "ch_1", channelType: .webhook,
            reason: .matched, clearance: .confidential, severity: alert.severity, state: .inFlight, attempts: 1, nextAttemptAt: nil,
            lastError: nil, createdAt: alert.receivedAt, updatedAt: alert.receivedAt)
    }

    /// Runs a pool over `deliveries` until each has an outcome (at most 5 s).
    static func run(
        _ deliveries: Int, answers: [Result<HTTPOutcome, TransportError>], log: OneAlertLog = OneAlertLog(EmailTests().alert())
    ) throws -> (FakeQueue, FakeTransport) {
        let alert = log.stored.alert
        let queue = FakeQueue((1...deliveries).map { delivery($0, alert: alert) })
        let transport = FakeTransport(answers)
        var configuration = WorkerConfiguration()
        configuration.allowPrivateWebhooks = true
        configuration.maxConcurrent = 4
        let pool = DeliveryWorkerPool(
            queue: queue, log: log, directory: OneSubscriber(subscriber: subscriber), configuration: configuration,
            transport: transport)
        pool.start()
        let deadline = Date().addingTimeInterval(5)
        while queue.outcomes.count < deliveries && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        pool.stop(timeout: 5)
        #expect(pool.sendsInFlight == 0)
        return (queue, transport)
    }

    @Test func webhooksGoThroughTheInjectedTransportSigned() throws {
        let (queue, transport) = try Self.run(10, answers: [.success(HTTPOutcome(status: 204, retryAfterMilliseconds: nil, latencyMilliseconds: 1))])
        #expect(queue.outcomes.count == 10)
        #expect(queue.outcomes.values.allSatisfy { $0 == .delivered })
        #expect(transport.requests.count == 10)
        let request = try #require(transport.requests.first)
        #expect(request.url == "http://127.0.0.1:9/hook")
        #expect(request.pinnedAddress?.address == "127.0.0.1")
        #expect(request.headers.contains { $0.0 == "webhook-signature" && $0.1.hasPrefix("v1,") })
    }

    /// A receiver's failure is retried with Vigil's own words, and `Retry-After` never
    /// pushes past the cap.
    @Test func failuresAreRetriedInVigilsWords() throws {
        let (queue, _) = try Self.run(1, answers: [.success(HTTPOutcome(status: 503, retryAfterMilliseconds: 36_000_000, latencyMilliseconds: 7))])
        guard case .retry(let at, let error) = queue.outcomes["dlv_1"] else {
            Issue.record("a 503 is retried: \(queue.outcomes)")
            return
        }
        #expect(error == "HTTP 503 (server error) after 7 ms")
        #expect(at.milliseconds - Timestamp.now().milliseconds <= RetryPolicy.critical.capMilliseconds)
    }

    /// The pool keeps no opened alert of its own (the log is the one cache): once the log
    /// erases an alert, the next send carries `[erased]`, with no observer to tell the pool.
    @Test func aSendAfterAnErasureReadsTheLogAgain() throws {
        let ok: [Result<HTTPOutcome, TransportError>] = [.success(HTTPOutcome(status: 200, retryAfterMilliseconds: nil, latencyMilliseconds: 1))]
        let log = OneAlertLog(EmailTests().alert())
        let name = log.stored.alert.defender.name
        let (_, before) = try Self.run(1, answers: ok, log: log)
        #expect(String(decoding: try #require(before.requests.first).body, as: UTF8.self).contains("Defender"))
        _ = try log.erase(.alert(log.stored.alert.id))
        #expect(log.stored.alert.defender.name != name)
        let (_, after) = try Self.run(1, answers: ok, log: log)
        let body = String(decoding: try #require(after.requests.first).body, as: UTF8.self)
        #expect(body.contains("[erased]"))
        #expect(!body.contains("Defender"))
    }
}
