import Foundation
import Testing
import VigilCore
import VigilKafka
import VigilObservability
import VigilStore
import VigilTestSupport

/// Console accounts on the Kafka backend: written through to the compacted `vigil.accounts`,
/// read by every process into its table; sessions stay in each process, yet a disable made
/// through one process ends them in all; malformed records are skipped.
@Suite(.serialized, .timeLimit(.minutes(2))) struct KafkaAccountTests {
    static let topic = "vigil.accounts"

    func backend(_ cluster: KafkaMockCluster, _ name: String) throws -> KafkaBackend {
        let path = (TemporaryDirectory.make("vigil-kafka-accounts") as NSString).appendingPathComponent("cache.sqlite")
        return try KafkaBackend(
            bootstrapServers: cluster.bootstrapServers, timeout: 10, database: try Database(path: path),
            masterKey: try MasterKey(text: String(repeating: "cd", count: 32)), processID: name, metrics: Metrics(),
            logger: Logger(label: name, enabled: false))
    }

    func waitFor(_ seconds: Double = 15, _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try condition()
    }

    func row(id: String, email: String, createdAt: String = "1", role: String = "partner") -> [UInt8] {
        Array(
            #"{"id":"\#(id)","email":"\#(email)","organisation":"o","role":"\#(role)","clearance":"public","language":"en","subscriber_ids":[],"password_hash":"h","sessions_valid_after":1,"created_at":\#(createdAt)}"#
                .utf8)
    }

    @Test func anAccountMadeInOneProcessIsSeenByAnotherAndItsDisableEndsSessionsThere() async throws {
        let cluster = try KafkaMockCluster.withVigilTopics(partitions: 2)
        let a = try backend(cluster, "proc-a"), b = try backend(cluster, "proc-b")
        defer { b.shutdown(); a.shutdown() }

        let (invitation, token) = try a.shared.accounts.invite(
            email: "desk@example.org", organisation: "be-fps", role: .operator, clearance: .confidential, language: "nl", subscriberIDs: [],
            invitedBy: "local:test")
        #expect(try await waitFor { try b.shared.accounts.invitation(token: token) == invitation }, "the other process can accept it")
        let account = try b.shared.accounts.acceptInvitation(token: token, passwordHash: "scrypt$h", totpSecret: Array("shared-secret".utf8))
        #expect(try await waitFor { try a.shared.accounts.account(email: "desk@example.org") == account })
        #expect(try await waitFor { try a.shared.accounts.invitation(token: token) == nil }, "used, in every process")
        #expect(try a.shared.accounts.totpSecret(accountID: account.id) == Array("shared-secret".utf8))

        let session = try b.shared.sessions.create(accountID: account.id, stage: .signedIn)
        #expect(try b.shared.sessions.session(session) != nil)
        #expect(try a.shared.sessions.session(session) == nil, "sessions are local to their process")
        #expect(try a.shared.accounts.disable(accountID: account.id))
        #expect(try await waitFor { try b.shared.sessions.session(session) == nil }, "a disable through one process ends sessions in another")

        // A malformed record on the topic is skipped and counted; what follows is still read.
        let before = KafkaRecordRejections.byTopic[Self.topic] ?? 0
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, signer: KafkaRecordSigner(masterKey: try MasterKey(text: String(repeating: "cd", count: 32))))
        _ = try producer.produceAndWait(topic: Self.topic, key: Array("account/acct_huge".utf8), value: row(id: "acct_huge", email: "h@example.org", createdAt: "1e19"))
        _ = try producer.produceAndWait(topic: Self.topic, key: Array("account/acct_god".utf8), value: row(id: "acct_god", email: "g@example.org", role: "god"))
        _ = try producer.produceAndWait(topic: Self.topic, key: Array("account/acct_good".utf8), value: row(id: "acct_good", email: "ok@example.org"))
        #expect(try await waitFor { try b.shared.accounts.account(id: "acct_good") != nil && a.shared.accounts.account(id: "acct_good") != nil })
        #expect(try b.shared.accounts.account(id: "acct_huge") == nil && b.shared.accounts.account(id: "acct_god") == nil)
        #expect(try await waitFor { (KafkaRecordRejections.byTopic[Self.topic] ?? 0) >= before + 4 }, "two records refused by both processes")
    }
}
