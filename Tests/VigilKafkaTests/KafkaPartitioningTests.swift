import Foundation
import Testing
import VigilCore
import VigilCrypto
@testable import VigilKafka

/// `vigil.alerts` is keyed by case (issue 23, point 5): a case's alerts share one partition,
/// in order, and the cases of a few busy countries spread over every partition instead of
/// piling on the few their country codes hash to.
@Suite(.serialized, .timeLimit(.minutes(2))) struct KafkaPartitioningTests {
    func append(_ log: KafkaAlertLog, _ alert: Alert) async -> Result<AppendReceipt, AlertLogError> {
        await withCheckedContinuation { continuation in log.append(alert, idempotency: nil) { continuation.resume(returning: $0) } }
    }

    @Test func casesSpreadOverEveryPartitionAndEachCaseKeepsOne() async throws {
        let cluster = try KafkaMockCluster.withVigilTopics(partitions: 4)
        let log = try KafkaAlertLog(
            bootstrapServers: cluster.bootstrapServers, cipher: IdentityCipher(masterKey: Array(repeating: 7, count: 32)),
            macKey: Array(repeating: 9, count: 32))
        defer { log.close() }
        var partitions: [Int64: Int] = [:]
        var firsts: [Alert] = []
        for n in 0..<120 {
            var alert = Alert(
                id: ULID().description, receivedAt: .now(), country: CountryCode(["BY", "CO", "PH"][n % 3])!, threat: .arrest, severity: .high,
                certainty: .observed, defender: Defender(name: "D \(n)"), summary: "case \(n)", source: AlertSource(organisation: "partner"))
            alert.caseID = alert.id
            let receipt = try await append(log, alert).get()
            partitions[receipt.offset >> 40, default: 0] += 1
            firsts.append(alert)
        }
        #expect(partitions.count == 4, "three countries' cases reach all four partitions: \(partitions)")
        #expect(partitions.values.allSatisfy { $0 >= 10 }, "none is starved: \(partitions)")
        // An update filed under another country lands in its case's partition, after it.
        for first in firsts.prefix(10) {
            var update = Alert(
                id: ULID().description, caseID: first.caseID, kind: .update, receivedAt: .now(), country: CountryCode("GE")!, threat: .detention,
                severity: .high, certainty: .observed, defender: Defender(name: "D"), summary: "moved", source: AlertSource(organisation: "partner"))
            update.caseID = first.caseID
            let receipt = try await append(log, update).get()
            let original = try #require(try log.alert(id: first.id))
            #expect(receipt.offset >> 40 == original.offset >> 40 && receipt.offset > original.offset)
        }
    }
}
