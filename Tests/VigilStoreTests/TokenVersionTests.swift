import Foundation
import Testing
import VigilCore
@testable import VigilStore

/// Token records carry a version (issue 23, point 6): a stale record read again, from the
/// feed or forged from an old one, never revives a revoked token, and registering a revoked
/// token's secret again is refused instead of un-revoking it.
@Suite struct TokenVersionTests {
    let secret = "vgl_" + String(repeating: "v", count: 40)

    @Test func registeringARevokedSecretIsRefusedAndItStaysRevoked() throws {
        let tokens = TokenStore(database: try Database(path: temporaryDatabasePath()))
        let record = try tokens.register(secret: secret, organisation: "partner", scopes: [.alertsWrite], clearance: .restricted)
        let updated = try tokens.register(secret: secret, organisation: "partner", scopes: [.alertsWrite, .alertsRead], clearance: .restricted)
        #expect(try updated.id == record.id && tokens.authenticate(secret: secret)?.scopes == [.alertsWrite, .alertsRead], "a live token is updated")
        #expect(try tokens.revoke(id: record.id))
        #expect(throws: TokenRefusal.revoked(id: record.id)) {
            try tokens.register(secret: secret, organisation: "partner", scopes: [.subscribersAdmin], clearance: .confidential)
        }
        #expect(try tokens.authenticate(secret: secret) == nil)
        #expect(try tokens.list().first?.revokedAt != nil)
    }

    @Test func aStaleRecordReadAgainNeverRevivesARevokedToken() throws {
        let feed = ReplicationTests.RecordingFeed()
        let source = TokenStore(database: try Database(path: temporaryDatabasePath()), feed: feed)
        let record = try source.register(secret: secret, organisation: "partner", scopes: [.alertsWrite], clearance: .restricted)
        let live = try #require(feed.records.last?.value)
        #expect(String(decoding: live, as: UTF8.self).contains(#""version":1"#))
        #expect(try source.revoke(id: record.id))
        let revoked = try #require(feed.records.last?.value)
        #expect(String(decoding: revoked, as: UTF8.self).contains(#""version":2"#))

        // In order, then the live record once more (read again, or produced again by someone).
        let replica = TokenStore(database: try Database(path: temporaryDatabasePath()))
        for value in [live, revoked, live] { try replica.applyReplica(id: record.id, row: value) }
        #expect(try replica.authenticate(secret: secret) == nil, "the older version is ignored")
        // A live record claiming a higher version cannot revive it either: revocation is final.
        let forged = Array(String(decoding: live, as: UTF8.self).replacingOccurrences(of: #""version":1"#, with: #""version":99"#).utf8)
        try replica.applyReplica(id: record.id, row: forged)
        #expect(try replica.authenticate(secret: secret) == nil)
        // The source itself, hearing its own old record back, stays revoked.
        try source.applyReplica(id: record.id, row: live)
        #expect(try source.authenticate(secret: secret) == nil)
    }

    @Test func aRecordFromBeforeVersionsReadsAsTheFirst() throws {
        let replica = TokenStore(database: try Database(path: temporaryDatabasePath()))
        let hash = String(repeating: "a", count: 64)
        let old = #"{"id":"tok_old","hash":"\#(hash)","organisation":"partner","scopes":"alerts:read","clearance":"public","created_at":1}"#
        try replica.applyReplica(id: "tok_old", row: Array(old.utf8))
        #expect(try replica.authenticate(hash: hash)?.id == "tok_old")
    }
}
