import Foundation
import Testing
import VigilCore
import VigilObservability
@testable import VigilDelivery

/// The workers log through the `Logger` they are given (issue 18: no logging closures).
@Suite struct DeliveryLoggingTests {
    typealias Pool = DeliveryWorkerPoolTests

    /// A delivery refused for good is dead-lettered, and the pool's own logger says so with
    /// ids only: no defender, no receiver text.
    @Test func aDeadLetterIsLoggedThroughTheLoggerPassedIn() throws {
        let log = Pool.OneAlertLog(EmailTests().alert())
        let queue = Pool.FakeQueue([Pool.delivery(1, alert: log.stored.alert)])
        var configuration = WorkerConfiguration()
        configuration.allowPrivateWebhooks = true
        let capture = CapturingLogHandler()
        let pool = DeliveryWorkerPool(
            queue: queue, log: log, directory: Pool.OneSubscriber(subscriber: Pool.subscriber), configuration: configuration,
            transport: Pool.FakeTransport([.success(HTTPOutcome(status: 400, retryAfterMilliseconds: nil, latencyMilliseconds: 1))]),
            logger: Logger(label: "workers", handler: capture))
        pool.start()
        let deadline = Date().addingTimeInterval(5)
        while capture.records("delivery dead-lettered").isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        pool.stop(timeout: 5)
        guard case .dead = queue.outcomes["dlv_1"] else {
            Issue.record("a 400 is dead-lettered: \(queue.outcomes)")
            return
        }
        let line = try #require(capture.records("delivery dead-lettered").first)
        #expect(line.level == .warning && line.label == "workers")
        #expect(line.fields == ["delivery": "dlv_1", "subscriber": Pool.subscriber.id])
        let name = log.stored.alert.defender.name
        #expect(!capture.records.contains { $0.fields.values.contains { $0.contains(name) } })
    }
}
