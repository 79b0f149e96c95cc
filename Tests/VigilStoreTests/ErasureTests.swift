import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilStore

/// Issue 17 §3 on the embedded backend: the store never holds the free text, links or tags
/// in the clear; after an erasure nothing of them can be read back from any file; a failed
/// truncation of the key file's WAL fails the erasure; erasures are announced.
@Suite struct ErasureTests {
    static let secrets = ["Yarashuk", "Aliaksandr", "detained at his home", "Kastrychnitski", "yarashuk-case", "evidence.example.org", "quietly"]

    func sensitiveAlert() -> Alert {
        var alert = makeAlert()
        alert.confidentiality = .confidential
        alert.defender = Defender(name: "Aliaksandr Yarashuk", organisation: "Belarusian Congress of Democratic Trade Unions", role: "chair")
        alert.summary = "A union chair was detained at his home."
        alert.summaryPublic = "A union leader was quietly taken."
        alert.region = "Kastrychnitski district"
        alert.links = ["https://evidence.example.org/case/17"]
        alert.tags = ["yarashuk-case"]
        return alert
    }

    @Test func freeTextLinksAndTagsNeverReachTheFilesAndAreGoneAfterErasure() throws {
        let path = temporaryDatabasePath()
        let db = try Database(path: path)
        let log = try EmbeddedAlertLog(database: db, masterKey: testMasterKey)
        let alert = sensitiveAlert()
        _ = try appendNow(log, alert).get()
        #expect(try log.alert(id: alert.id)?.alert == alert, "read back whole while the key exists")
        let before = rawFiles(of: path)
        for secret in Self.secrets { #expect(!before.contains(secret), "\(secret) is in a file of the store in the clear") }

        #expect(try log.erase(.alert(alert.id)) == [alert.id])
        let read = try #require(try log.alert(id: alert.id)).alert
        #expect(read.summary == RedactionMark.erased && read.region == RedactionMark.erased && read.summaryPublic == RedactionMark.erased)
        #expect(read.links.isEmpty && read.tags.isEmpty && read.defender.name == RedactionMark.erased)
        #expect(read.redacted(for: .public).summary == WithheldSummary.text(for: "en"))
        db.close()
        let after = rawFiles(of: path)
        for secret in Self.secrets { #expect(!after.contains(secret), "\(secret) is in a file of the store after erasure") }
        let reopened = try EmbeddedAlertLog(database: try Database(path: path), masterKey: testMasterKey)
        #expect(try reopened.alert(id: alert.id)?.alert == read, "erasure survives a restart")
    }

    /// A row written by an earlier version kept a scrubbed summary, links and tags in its
    /// view; once its key is gone it must read as erased, not show them.
    @Test func anOldRowWhoseKeyIsGoneReadsAsErased() throws {
        let db = try Database(path: temporaryDatabasePath())
        let log = try EmbeddedAlertLog(database: db, masterKey: testMasterKey)
        var oldView = sensitiveAlert()
        oldView.summaryPublic = nil
        oldView.defender = Defender(name: RedactionMark.erased)
        oldView.summary = "[erased], chair of the union, was detained at his home."
        let written = oldView
        _ = try db.writeAndWait { transaction in
            try EmbeddedAlertLog.insert(written, body: written.jsonBytes(), keyID: 999_999, identity: [1, 2, 3], claim: nil, into: transaction.connection)
        }
        let read = try #require(try log.alert(id: oldView.id)).alert
        #expect(read.summary == RedactionMark.erased && read.region == RedactionMark.erased)
        #expect(read.links.isEmpty && read.tags.isEmpty)
        #expect(try log.alerts(matching: AlertQuery()).first?.alert == read)
        db.close()
    }

    /// A reader holding the key file open keeps `wal_checkpoint(TRUNCATE)` from finishing
    /// (SQLite answers busy = 1 as a row, not an error): the erasure must say so, not
    /// report success while the erased key's page may still sit in the WAL.
    @Test(.timeLimit(.minutes(1))) func aFailedTruncationOfTheKeyWALFailsTheErasure() throws {
        let path = temporaryDatabasePath()
        let db = try Database(path: path)
        let log = try EmbeddedAlertLog(database: db, masterKey: testMasterKey)
        let alert = sensitiveAlert()
        _ = try appendNow(log, alert).get()
        let holder = try SQLiteConnection(path: db.keysPath)
        try holder.execute("PRAGMA busy_timeout=0")
        try holder.execute("BEGIN")
        _ = try holder.query("SELECT COUNT(*) FROM data_keys")
        #expect(throws: StoreError.self) { _ = try log.erase(.alert(alert.id)) }
        #expect(try log.alert(id: alert.id)?.alert.defender.name == RedactionMark.erased, "the key itself is deleted")
        try holder.execute("COMMIT")
        holder.close()
        #expect(try log.erase(.alert(alert.id)) == [alert.id], "a retried erasure checkpoints and succeeds")
        db.close()
    }

    /// Erasures are announced to observers (the delivery workers' cache), and the log's own
    /// cache of fresh appends forgets the alert.
    @Test func erasuresAreAnnouncedAndTheRecentCacheForgets() throws {
        let db = try Database(path: temporaryDatabasePath())
        let log = try EmbeddedAlertLog(database: db, masterKey: testMasterKey)
        let alert = sensitiveAlert(), other = sensitiveAlert()
        _ = try appendNow(log, alert).get()
        _ = try appendNow(log, other).get()
        let heard = Mutex<[[String]]>([])
        let observation = log.observeErasures { ids in heard.withLock { $0.append(ids) } }
        #expect(try log.alert(id: alert.id)?.alert == alert, "served from the cache of fresh appends")
        _ = try log.erase(.alert(alert.id))
        #expect(heard.withLock { $0 } == [[alert.id]])
        #expect(try log.alert(id: alert.id)?.alert.summary == RedactionMark.erased, "not served from the cache")
        #expect(try log.alert(id: other.id)?.alert == other)
        observation.cancel()
        _ = try log.erase(.alert(other.id))
        #expect(heard.withLock { $0 }.count == 1, "a cancelled observation hears nothing")
        db.close()
    }
}
