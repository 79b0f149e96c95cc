import Foundation
import Testing
import VigilCore
@testable import VigilStore

/// What the Kafka backend relies on: every change to subscribers and tokens is published as a
/// whole state under its id, and another store applying those states ends up the same.
@Suite struct ReplicationTests {
    /// A feed that keeps what was published, in order, as a topic would.
    final class RecordingFeed: ReplicationFeed, @unchecked Sendable {
        private let lock = NSLock()
        private(set) var records: [(key: String, value: [UInt8]?)] = []
        func publish(key: String, value: [UInt8]?) throws { lock.withLock { records.append((key, value)) } }
    }

    func desk(_ id: String, channel: String, countries: [String] = ["BY"]) -> Subscriber {
        Subscriber(
            id: id, name: "Desk", kind: .diplomaticDesk, organisation: "FPS", contact: "d@example.org", clearance: .restricted,
            language: "en", channels: [Channel(id: channel, type: .webhook, url: "https://hooks.example.org/h")],
            subscriptions: [Subscription(countries: Set(countries.map { CountryCode($0)! }), minSeverity: .low)])
    }

    @Test func subscribersReplicateWithSecretsRotationsDisablingAndDeletion() throws {
        let feed = RecordingFeed()
        let source = SubscriberRegistry(database: try Database(path: temporaryDatabasePath()), seal: SecretSeal(masterKey: testMasterKey), feed: feed)
        let replica = SubscriberRegistry(database: try Database(path: temporaryDatabasePath()), seal: SecretSeal(masterKey: testMasterKey))
        let secret = "whsec_" + String(repeating: "A", count: 32), next = "whsec_" + String(repeating: "B", count: 32)
        try source.save(desk("sub_1", channel: "chn_1"), newSecrets: ["chn_1": secret])
        try source.save(desk("sub_2", channel: "chn_2"), newSecrets: ["chn_2": secret])
        #expect(try source.rotate(channelID: "chn_1", newSecret: next))
        try source.disable(channelID: "chn_2", reason: "the endpoint answered 410 Gone")
        #expect(try source.delete(id: "sub_2"))
        try source.save(desk("sub_3", channel: "chn_3", countries: ["CO"]), newSecrets: [:])
        for record in feed.records { try replica.applyReplica(id: record.key, snapshot: record.value) }
        #expect(try replica.list() == source.list())
        #expect(try replica.secrets(channelID: "chn_1") == [next, secret], "sealed secrets and the rotation travel")
        #expect(try replica.subscriber(id: "sub_2") == nil, "a tombstone deletes")
        #expect(try replica.index().subscribers.map(\.id) == ["sub_1", "sub_3"])
    }

    @Test func aStaleSnapshotDoesNotUndoALaterLocalChange() throws {
        let feed = RecordingFeed()
        let registry = SubscriberRegistry(database: try Database(path: temporaryDatabasePath()), seal: SecretSeal(masterKey: testMasterKey), feed: feed)
        try registry.save(desk("sub_1", channel: "chn_1", countries: ["BY"]), newSecrets: [:])
        let first = try #require(feed.records.last?.value)
        usleep(5_000)
        try registry.save(desk("sub_1", channel: "chn_1", countries: ["CO"]), newSecrets: [:])
        try registry.applyReplica(id: "sub_1", snapshot: first)  // read back late, after the second save
        #expect(try registry.subscriber(id: "sub_1")?.subscriptions.first?.countries == [CountryCode("CO")!] as Set)
    }

    @Test func tokensReplicateAsHashesAndRevocationsTravel() throws {
        let feed = RecordingFeed()
        let source = TokenStore(database: try Database(path: temporaryDatabasePath()), feed: feed)
        let replica = TokenStore(database: try Database(path: temporaryDatabasePath()))
        let secret = "vgl_" + String(repeating: "z", count: 40)
        let record = try source.register(secret: secret, organisation: "partner", scopes: [.alertsWrite], clearance: .restricted)
        for published in feed.records { try replica.applyReplica(id: published.key, row: published.value) }
        #expect(try replica.authenticate(secret: secret)?.organisation == "partner")
        #expect(feed.records.allSatisfy { !String(decoding: $0.value ?? [], as: UTF8.self).contains(secret) }, "only the hash travels")
        #expect(try source.revoke(id: record.id))
        for published in feed.records.suffix(1) { try replica.applyReplica(id: published.key, row: published.value) }
        #expect(try replica.authenticate(secret: secret) == nil)
    }
}

extension ReplicationTests {
    @Test func auditEntriesTravelThroughTheFeedAndFillAnotherProcessTable() throws {
        let feed = RecordingFeed()
        let source = AuditTrail(database: try Database(path: temporaryDatabasePath()), feed: feed)
        let replica = AuditTrail(database: try Database(path: temporaryDatabasePath()))
        let entry = AuditEntry(tokenID: "tok_1", organisation: "be-fps", action: .alertRead, target: "01ALERT", detail: "identity shown")
        let stored = DispatchSemaphore(value: 0)
        source.record([entry, entry]) { _ in stored.signal() }
        #expect(stored.wait(timeout: .now() + 10) == .success)
        source.waitForPublished()
        #expect(try source.entries().isEmpty, "with a feed the entry is not written locally: it comes back through the feed")
        #expect(feed.records.count == 2 && feed.records.allSatisfy { $0.key == "tok_1" })
        for record in feed.records { try replica.applyReplica(record.value ?? []) }
        try replica.waitForReplica()
        let read = try replica.entries()
        #expect(read.map(\.seq) == [1, 2] && read.allSatisfy { $0.action == .alertRead && $0.target == "01ALERT" && $0.organisation == "be-fps" })
    }
}

extension ReplicationTests {
    @Test func replaysAreSharedAndOnlyTheirOwnerResumesThem() throws {
        let feed = RecordingFeed()
        let mine = ReplayStore(database: try Database(path: temporaryDatabasePath()), feed: feed, owner: "proc_a")
        let other = ReplayStore(database: try Database(path: temporaryDatabasePath()), feed: RecordingFeed(), owner: "proc_b")
        var selection = ReplaySelection()
        selection.caseID = "01CASE"
        let now = Timestamp.now()
        var progress = ReplayProgress(id: "rpl_1", state: .running, selection: selection, target: ReplayTarget(), createdAt: now, updatedAt: now)
        try mine.save(progress)
        progress.cursor = 500
        progress.updatedAt = now.adding(milliseconds: 10)
        try mine.save(progress)
        for record in feed.records { try other.applyReplica(id: record.key, value: record.value) }
        #expect(try other.replay(id: "rpl_1")?.cursor == 500, "any process shows the progress")
        #expect(try other.running().isEmpty, "only the owner resumes it")
        #expect(try mine.running().map(\.id) == ["rpl_1"])
        try other.applyReplica(id: "rpl_1", value: feed.records.first?.value)  // the older state, read again
        #expect(try other.replay(id: "rpl_1")?.cursor == 500, "an older state does not win")
    }
}

extension ReplicationTests {
    @Test func aRotationReadBackAfterTheCreationKeepsBothSecrets() throws {
        let feed = RecordingFeed()
        let registry = SubscriberRegistry(database: try Database(path: temporaryDatabasePath()), seal: SecretSeal(masterKey: testMasterKey), feed: feed)
        let old = "whsec_" + String(repeating: "C", count: 32), new = "whsec_" + String(repeating: "D", count: 32)
        try registry.save(desk("sub_1", channel: "chn_1"), newSecrets: ["chn_1": old])
        #expect(try registry.rotate(channelID: "chn_1", newSecret: new))  // within the same millisecond, often
        for record in feed.records { try registry.applyReplica(id: record.key, snapshot: record.value) }  // read back late
        #expect(try registry.secrets(channelID: "chn_1") == [new, old])
    }
}
