import Foundation
import Testing
import VigilCore
import VigilCrypto
@testable import VigilKafka
import VigilObservability
import VigilStore
import VigilTestSupport

/// Every record Vigil writes carries a signature bound to its topic and key (issue 23): the
/// attacks an outside producer could make on the shared-state topics are refused, counted and
/// never applied.
@Suite(.serialized, .timeLimit(.minutes(3))) struct KafkaRecordSigningTests {
    static let masterKey = try! MasterKey(text: String(repeating: "ab", count: 32))

    // MARK: The signature itself

    @Test func aSignatureBindsTopicKeyAndValueAndTellsATombstoneFromAnEmptyValue() {
        let signer = KafkaRecordSigner(masterKey: Self.masterKey)
        let key = Array("tok_1".utf8), value = Array(#"{"id":"tok_1"}"#.utf8)
        let mac = signer.signature(topic: "vigil.tokens", key: key, value: value)
        #expect(mac.count == 64 && mac.allSatisfy { Array("0123456789abcdef".utf8).contains($0) })
        func record(_ topic: String, _ key: [UInt8]?, _ value: [UInt8]?, _ signature: [UInt8]?) -> KafkaRecord {
            KafkaRecord(topic: topic, partition: 0, offset: 0, key: key, value: value, timestamp: 0, signature: signature)
        }
        #expect(signer.verifies(record("vigil.tokens", key, value, mac)))
        #expect(!signer.verifies(record("vigil.subscribers", key, value, mac)), "moved to another topic")
        #expect(!signer.verifies(record("vigil.tokens", Array("tok_2".utf8), value, mac)), "moved to another key")
        #expect(!signer.verifies(record("vigil.tokens", key, value + [32], mac)), "altered")
        #expect(!signer.verifies(record("vigil.tokens", key, nil, mac)), "made a tombstone")
        #expect(!signer.verifies(record("vigil.tokens", key, value, nil)), "unsigned")
        #expect(!signer.verifies(record("vigil.tokens", key, value, Array(repeating: UInt8(ascii: "0"), count: 64))))
        #expect(!signer.verifies(record("vigil.tokens", key, value, Array("zz".utf8) + mac.dropFirst(2))), "not hex")
        #expect(!signer.verifies(record("vigil.tokens", key, value, mac + mac)), "longer than a signature")
        #expect(!signer.verifies(record("vigil.tokens", key, value, Array(mac.prefix(63)))), "shorter")
        #expect(signer.signature(topic: "vigil.keys", key: key, value: nil) != signer.signature(topic: "vigil.keys", key: key, value: []))
        #expect(signer.signature(topic: "vigil.keys", key: nil, value: value) != signer.signature(topic: "vigil.keys", key: [], value: value))
        let other = KafkaRecordSigner(masterKey: try! MasterKey(text: String(repeating: "cd", count: 32)))
        #expect(!other.verifies(record("vigil.tokens", key, value, mac)), "another master key")
        #expect(other.verifies(record(KafkaRecordSigner.intakeTopic, key, value, nil)), "the intake topic is nobody's to sign")
    }

    // MARK: The attacks of issue 23, against two running processes

    func backend(_ cluster: KafkaMockCluster, _ name: String, masterKey: MasterKey = Self.masterKey) throws -> KafkaBackend {
        let path = (TemporaryDirectory.make("vigil-kafka-signing") as NSString).appendingPathComponent("cache.sqlite")
        return try KafkaBackend(
            bootstrapServers: cluster.bootstrapServers, timeout: 10, database: try Database(path: path), masterKey: masterKey, processID: name,
            metrics: Metrics(), logger: Logger(label: name, enabled: false))
    }

    func waitFor(_ seconds: Double = 15, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }

    func refused(_ topic: String) -> UInt64 { KafkaRecordRejections.byTopic[topic] ?? 0 }

    @Test func forgedAndMovedRecordsOnTheSharedTopicsAreRefusedAndNeverApplied() throws {
        let cluster = try KafkaMockCluster.withVigilTopics(partitions: 2)
        let a = try backend(cluster, "proc-a"), b = try backend(cluster, "proc-b")
        defer { b.shutdown(); a.shutdown() }
        let servers = cluster.bootstrapServers

        // A genuine token, made through one process, reaches the other.
        let genuine = try a.shared.tokens.register(secret: "genuine-secret", organisation: "ops", scopes: [.alertsRead], clearance: .public)
        #expect(try waitFor { try b.shared.tokens.authenticate(secret: "genuine-secret") != nil })

        // 1. An admin token minted with kcat: no signature.
        let before = refused("vigil.tokens")
        let minted = #"{"id":"tok_forged","hash":"\#(SHA256.hex("forged-secret"))","organisation":"mallory","scopes":"alerts:read alerts:write subscribers:admin","clearance":"confidential","created_at":1,"revoked_at":null,"version":99}"#
        #expect(try Kcat.produce(servers, topic: "vigil.tokens", key: "tok_forged", value: minted) == 0)
        // 2. The same with a signature copied from the genuine record: bound to another key and value.
        let lines = try Kcat.consume(servers, topic: "vigil.tokens", format: "%k\\t%h\\t%s\\n").split(separator: "\n")
        let line = try #require(lines.first { $0.hasPrefix(genuine.id + "\t") }).split(separator: "\t", maxSplits: 2)
        let copiedHeader = try #require(line[1].split(separator: ",").first { $0.hasPrefix(KafkaRecordSigner.header + "=") })
        let copiedMAC = String(copiedHeader.dropFirst(KafkaRecordSigner.header.count + 1))
        #expect(copiedMAC.count == 64)
        #expect(try Kcat.produce(servers, topic: "vigil.tokens", key: "tok_forged", headers: [(KafkaRecordSigner.header, copiedMAC)], value: minted) == 0)
        // 3. The genuine record, signature and all, moved to vigil.subscribers; 4. a crash-loop number, unsigned.
        #expect(try Kcat.produce(servers, topic: "vigil.subscribers", key: genuine.id, headers: [(KafkaRecordSigner.header, copiedMAC)], value: String(line[2])) == 0)
        #expect(try Kcat.produce(servers, topic: "vigil.acks", key: "x/y", value: #"{"alert_id":"x","subscriber_id":"y","at":1e19}"#) == 0)
        // 5. A revocation undone: the genuine record written again unsigned after a revocation.
        #expect(try a.shared.tokens.revoke(id: genuine.id))
        #expect(try waitFor { try b.shared.tokens.authenticate(secret: "genuine-secret") == nil })
        #expect(try Kcat.produce(servers, topic: "vigil.tokens", key: genuine.id, value: String(line[2])) == 0)

        // Each process refuses each (two on vigil.tokens, one moved, one crash loop, one revival), and applies none.
        #expect(waitFor { refused("vigil.tokens") >= before + 6 }, "\(refused("vigil.tokens") - before) refusals on vigil.tokens")
        #expect(waitFor { refused("vigil.subscribers") >= 2 && refused("vigil.acks") >= 2 })
        // A later genuine write still arrives, so the refused records were read past, not stuck on.
        _ = try a.shared.tokens.register(secret: "later-secret", organisation: "ops", scopes: [.alertsRead], clearance: .public)
        #expect(try waitFor { try b.shared.tokens.authenticate(secret: "later-secret") != nil })
        for process in [a, b] {
            #expect(try process.shared.tokens.authenticate(secret: "forged-secret") == nil)
            #expect(try process.shared.tokens.authenticate(secret: "genuine-secret") == nil, "revocation is final")
            #expect(try process.shared.subscribers.subscriber(id: genuine.id) == nil)
        }
    }

    @Test func aProcessWithAnotherMasterKeyIsRefusedAtStart() throws {
        let cluster = try KafkaMockCluster.withVigilTopics(partitions: 2)
        let first = try backend(cluster, "proc-a")
        defer { first.shutdown() }
        let other = try MasterKey(text: String(repeating: "ef", count: 32))
        #expect {
            _ = try backend(cluster, "proc-b", masterKey: other)
        } throws: { error in
            String(describing: error).contains("master key")
        }
    }

    @Test func anUnsignedAlertOnTheLogIsRefusedWhileTheIntakeTopicTakesOutsideAlerts() async throws {
        let cluster = try KafkaMockCluster.withVigilTopics(partitions: 2)
        let a = try backend(cluster, "proc-a")
        defer { a.shutdown() }
        let forged = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        let before = refused("vigil.alerts")
        // What a signed record looks like, but written by someone without the master key.
        _ = try forged.produceAndWait(
            topic: "vigil.alerts", key: Array("BY".utf8), value: Array(#"{"vigil":1,"mac":"00","claim":null}"#.utf8))
        #expect(waitFor { refused("vigil.alerts") > before })
        #expect(try a.log.alerts(matching: AlertQuery()).isEmpty)
    }
}
