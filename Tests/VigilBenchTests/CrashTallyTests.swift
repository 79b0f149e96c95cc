import Testing
@testable import VigilBench

/// The arithmetic of `vigil bench crash`, state by state: what counts as lost, missing,
/// repeated and misrouted, and that a repeat under its first delivery id is allowed while a
/// second id for one alert at one endpoint is a fault.
@Suite struct CrashTallyTests {
    typealias Receipt = CrashTally.Receipt

    /// Alert A owes two endpoints, B one.
    let owed: [String: Set<String>] = ["A": ["webhook a", "email desk"], "B": ["webhook a"]]

    @Test func everyDeliveryOnceIsSound() {
        let t = CrashTally(expected: owed, readable: ["A", "B"], receipts: [
            Receipt(alert: "A", endpoint: "webhook a", deliveryID: "dlv_a1"),
            Receipt(alert: "A", endpoint: "email desk", deliveryID: "dlv_a2"),
            Receipt(alert: "B", endpoint: "webhook a", deliveryID: "dlv_b1"),
        ])
        #expect(t.acknowledged == 2 && t.expected == 3 && t.made == 3 && t.missing == 0)
        #expect(t.lost.isEmpty && t.duplicates == 0 && t.duplicatesUnderSecondID == 0 && t.strays == 0 && t.unacknowledgedReceipts == 0)
        #expect(t.isSound)
    }

    @Test func aRepeatUnderItsFirstIdIsADuplicateButNoFault() {
        let t = CrashTally(expected: owed, readable: ["A", "B"], receipts: [
            Receipt(alert: "A", endpoint: "webhook a", deliveryID: "dlv_a1"),
            Receipt(alert: "A", endpoint: "webhook a", deliveryID: "dlv_a1"),
            Receipt(alert: "A", endpoint: "webhook a", deliveryID: "dlv_a1"),
            Receipt(alert: "A", endpoint: "email desk", deliveryID: "dlv_a2"),
            Receipt(alert: "B", endpoint: "webhook a", deliveryID: "dlv_b1"),
        ])
        #expect(t.made == 3 && t.missing == 0)
        #expect(t.duplicates == 2 && t.duplicatesUnderSecondID == 0)
        #expect(t.isSound)
    }

    @Test func aRepeatUnderASecondIdIsAFault() {
        let t = CrashTally(expected: owed, readable: ["A", "B"], receipts: [
            Receipt(alert: "A", endpoint: "webhook a", deliveryID: "dlv_a1"),
            Receipt(alert: "A", endpoint: "webhook a", deliveryID: "dlv_other"),
            Receipt(alert: "A", endpoint: "email desk", deliveryID: "dlv_a2"),
            Receipt(alert: "B", endpoint: "webhook a", deliveryID: "dlv_b1"),
        ])
        #expect(t.duplicates == 1 && t.duplicatesUnderSecondID == 1)
        #expect(!t.isSound)
    }

    @Test func oneIdAtTwoEndpointsIsNoRepeat() {
        // The same delivery id reaching two endpoints is two deliveries, each made once (the
        // id is per channel; what matters is one alert at one endpoint).
        let t = CrashTally(expected: owed, readable: ["A", "B"], receipts: [
            Receipt(alert: "A", endpoint: "webhook a", deliveryID: "dlv_x"),
            Receipt(alert: "A", endpoint: "email desk", deliveryID: "dlv_x"),
            Receipt(alert: "B", endpoint: "webhook a", deliveryID: "dlv_b1"),
        ])
        #expect(t.duplicates == 0 && t.duplicatesUnderSecondID == 0 && t.isSound)
    }

    @Test func anOwedDeliveryThatNeverCameIsMissing() {
        let t = CrashTally(expected: owed, readable: ["A", "B"], receipts: [
            Receipt(alert: "A", endpoint: "webhook a", deliveryID: "dlv_a1"),
            Receipt(alert: "B", endpoint: "webhook a", deliveryID: "dlv_b1"),
            Receipt(alert: "B", endpoint: "webhook a", deliveryID: "dlv_b1"),
        ])
        // A repeat of B does not make up for A's missing email.
        #expect(t.expected == 3 && t.made == 2 && t.missing == 1 && t.duplicates == 1)
        #expect(!t.isSound)
    }

    @Test func anAcknowledgedAlertTheAPIDoesNotReturnIsLost() {
        let t = CrashTally(expected: owed, readable: ["A"], receipts: [
            Receipt(alert: "A", endpoint: "webhook a", deliveryID: "dlv_a1"),
            Receipt(alert: "A", endpoint: "email desk", deliveryID: "dlv_a2"),
            Receipt(alert: "B", endpoint: "webhook a", deliveryID: "dlv_b1"),
        ])
        #expect(t.lost == ["B"] && t.missing == 0)
        #expect(!t.isSound, "delivered but no longer readable is still lost")
    }

    @Test func anAcknowledgedAlertAtAnEndpointItDoesNotMatchIsAStray() {
        let t = CrashTally(expected: owed, readable: ["A", "B"], receipts: [
            Receipt(alert: "A", endpoint: "webhook a", deliveryID: "dlv_a1"),
            Receipt(alert: "A", endpoint: "email desk", deliveryID: "dlv_a2"),
            Receipt(alert: "B", endpoint: "webhook a", deliveryID: "dlv_b1"),
            Receipt(alert: "B", endpoint: "email desk", deliveryID: "dlv_b2"),
        ])
        #expect(t.strays == 1 && t.made == 3 && t.missing == 0)
        #expect(!t.isSound)
    }

    @Test func anAlertNeverAcknowledgedMayStillArrive() {
        // Filed as the kill came: appended, never answered. The receivers' business, not a fault.
        let t = CrashTally(expected: owed, readable: ["A", "B"], receipts: [
            Receipt(alert: "A", endpoint: "webhook a", deliveryID: "dlv_a1"),
            Receipt(alert: "A", endpoint: "email desk", deliveryID: "dlv_a2"),
            Receipt(alert: "B", endpoint: "webhook a", deliveryID: "dlv_b1"),
            Receipt(alert: "C", endpoint: "webhook a", deliveryID: "dlv_c1"),
            Receipt(alert: "C", endpoint: "webhook a", deliveryID: "dlv_c1"),
        ])
        #expect(t.unacknowledgedReceipts == 2 && t.duplicates == 1 && t.duplicatesUnderSecondID == 0)
        #expect(t.expected == 3 && t.made == 3 && t.isSound)
    }

    @Test func nothingFiledIsSoundAndEmpty() {
        let t = CrashTally(expected: [:], readable: [], receipts: [])
        #expect(t.acknowledged == 0 && t.expected == 0 && t.made == 0 && t.missing == 0 && t.isSound)
    }

    @Test func theReportTakesTheMedianAndTheLongestRestart() {
        let tally = CrashTally(expected: [:], readable: [], receipts: [])
        func report(_ restarts: [Double]) -> CrashReport {
            CrashReport(
                backend: "embedded", kills: restarts.count, seed: 1, rate: 20, pause: 0.2...1.2, killsByRole: ["serve": restarts.count], restartSeconds: restarts,
                settleSeconds: 0, refused: 0, tally: tally, endpoints: [], keptDataDir: nil)
        }
        #expect(report([0.3, 0.1, 0.2]).medianRestart == 0.2 && report([0.3, 0.1, 0.2]).longestRestart == 0.3)
        #expect(report([0.4, 0.1, 0.2, 0.3]).medianRestart == 0.25)
        #expect(report([]).medianRestart == 0 && report([]).longestRestart == 0)
    }

    @Test func theKillScheduleIsTheSameForTheSameSeed() {
        var a = CrashBenchmark.SeededGenerator(seed: 7), b = CrashBenchmark.SeededGenerator(seed: 7), c = CrashBenchmark.SeededGenerator(seed: 8)
        let first = (0..<20).map { _ in Int.random(in: 0..<3, using: &a) }
        #expect(first == (0..<20).map { _ in Int.random(in: 0..<3, using: &b) })
        #expect(first != (0..<20).map { _ in Int.random(in: 0..<3, using: &c) })
    }
}
