import Synchronization
import Testing
import VigilCore
import VigilCrypto
@testable import VigilStore

/// Feed tokens (issue 21): one per subscriber, only its hash kept, a rotation replacing the
/// old one at once, and on Kafka the same rows reaching every process through the feed.
@Suite struct FeedTokenStoreTests {
    /// A feed that keeps what was published, in order, as a compacted topic would hand it back.
    final class RecordingFeed: ReplicationFeed {
        let records = Mutex<[(key: String, value: [UInt8]?)]>([])
        func publish(key: String, value: [UInt8]?) throws { records.withLock { $0.append((key, value)) } }
        var all: [(key: String, value: [UInt8]?)] { records.withLock { $0 } }
    }

    @Test func aTokenIs32RandomBytesStoredOnlyAsItsHashAndRotationReplacesItAtOnce() throws {
        let database = try Database(path: temporaryDatabasePath())
        let store = FeedTokenStore(database: database)
        let first = try store.rotate(subscriberID: "sub_desk")
        #expect(first.utf8.count == 43 && first.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }, "base64url of 32 bytes: \(first)")
        #expect(Base64.decode(first.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "=")?.count == 32)
        #expect(try store.subscriberID(forSecret: first) == "sub_desk")
        let stored = try database.read { try $0.connection.query("SELECT subscriber_id, hash FROM feed_tokens") }
        #expect(stored.count == 1 && stored[0].text(1) == SHA256.hex(first), "only the SHA-256 is kept")

        let second = try store.rotate(subscriberID: "sub_desk")
        #expect(second != first)
        #expect(try store.subscriberID(forSecret: first) == nil, "the old URL stops at once")
        #expect(try store.subscriberID(forSecret: second) == "sub_desk")
        #expect(try store.subscriberID(forSecret: "") == nil && store.subscriberID(forSecret: String(repeating: "a", count: 5000)) == nil)

        let other = try store.rotate(subscriberID: "sub_other")
        #expect(try store.subscriberID(forSecret: other) == "sub_other" && store.subscriberID(forSecret: second) == "sub_desk")
        #expect(try store.revoke(subscriberID: "sub_other"))
        #expect(try store.subscriberID(forSecret: other) == nil)
        #expect(try !store.revoke(subscriberID: "sub_other"))
    }

    @Test func tokensReplicateAsHashesAndRotationsAndRevocationsTravel() throws {
        let feed = RecordingFeed()
        let source = FeedTokenStore(database: try Database(path: temporaryDatabasePath()), feed: feed)
        let replica = FeedTokenStore(database: try Database(path: temporaryDatabasePath()))
        let old = try source.rotate(subscriberID: "sub_desk")
        let new = try source.rotate(subscriberID: "sub_desk")
        let gone = try source.rotate(subscriberID: "sub_gone")
        try source.revoke(subscriberID: "sub_gone")
        for record in feed.all { try replica.applyReplica(subscriberID: record.key, value: record.value) }
        #expect(feed.all.allSatisfy { record in [old, new, gone].allSatisfy { !String(decoding: record.value ?? [], as: UTF8.self).contains($0) } },
            "only hashes travel")
        #expect(try replica.subscriberID(forSecret: new) == "sub_desk")
        #expect(try replica.subscriberID(forSecret: old) == nil)
        #expect(try replica.subscriberID(forSecret: gone) == nil, "a tombstone removes the token")
        #expect(try replica.createdAt(subscriberID: "sub_desk") == source.createdAt(subscriberID: "sub_desk"))
    }

    @Test(arguments: [#"{"hash":"abc","created_at":1}"#, #"{"hash":"\#(String(repeating: "a", count: 64))","created_at":1e19}"#, "[]", #"{"created_at":1}"#])
    func anUnreadableReplicaIsRefused(value: String) throws {
        let store = FeedTokenStore(database: try Database(path: temporaryDatabasePath()))
        #expect(throws: (any Error).self) { try store.applyReplica(subscriberID: "sub_desk", value: Array(value.utf8)) }
    }
}
