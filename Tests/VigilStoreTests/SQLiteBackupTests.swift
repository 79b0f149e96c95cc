import Dispatch
import Foundation
import Synchronization
import Testing
import VigilCore
import VigilTestSupport
@testable import VigilStore

/// The online backup (issue 24): `SQLiteBackup` copies a snapshot while another connection
/// commits, and `StoreBackup` copies the alert store and the key store of a live store so
/// that every alert in the copy finds its data key; `ErasureCarryOver` re-applies to a
/// restored copy the erasures made after it was taken.
@Suite struct SQLiteBackupTests {
    /// A file of `rows` rows of 1 kB, in WAL mode.
    func filledDatabase(rows: Int) throws -> String {
        let path = temporaryDatabasePath()
        let setup = try SQLiteConnection(path: path)
        defer { setup.close() }
        try setup.execute("PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL); CREATE INDEX t_body ON t(body);")
        try setup.execute("BEGIN")
        for _ in 0..<rows { try setup.run("INSERT INTO t(body) VALUES (randomblob(1000))") }
        try setup.execute("COMMIT")
        return path
    }

    /// Between every step of the copy another connection commits: an insert and an update of
    /// a page the copy may already have taken. The copy is the snapshot the reader held when
    /// it began (same rows), passes `integrity_check`, and never restarts (its steps are
    /// bounded by its pages).
    @Test func aCopyTakenWhileAnotherConnectionWritesIsTheSnapshotAndIntact() throws {
        let source = try filledDatabase(rows: 1500)
        let writer = try SQLiteConnection(path: source)
        defer { writer.close() }
        let reader = try SQLiteConnection(path: source)
        defer { reader.close() }
        try reader.execute("BEGIN")
        let snapshot = try #require(try reader.query("SELECT COUNT(*), SUM(LENGTH(body)), MAX(id) FROM t").first)
        let copyPath = temporaryDatabasePath()
        let copy = try SQLiteConnection(path: copyPath)
        defer { copy.close() }
        let backup = try SQLiteBackup(from: reader, schema: "main", to: copy)
        var steps = 0, commits = 0
        while try backup.step(pages: 8) != .done {
            steps += 1
            try writer.execute("BEGIN")
            try writer.run("INSERT INTO t(body) VALUES (randomblob(1000))")
            try writer.run("UPDATE t SET body = randomblob(1000) WHERE id = ?", [.integer(Int64(1 + steps % 1500))])
            try writer.execute("COMMIT")
            commits += 1
            if steps > 10_000 { break }
        }
        let pages = backup.pageCount
        #expect(backup.remainingPages == 0 && pages > 1500 / 4, "\(pages) pages, all copied")
        try backup.finish()
        try reader.execute("COMMIT")
        #expect(commits > 100, "the other connection committed \(commits) times while the copy ran")
        #expect(steps <= pages / 8 + 1, "\(steps) steps for \(pages) pages: the copy never restarted")
        #expect(try copy.query("PRAGMA integrity_check").compactMap { $0.text(0) } == ["ok"])
        let copied = try #require(try copy.query("SELECT COUNT(*), SUM(LENGTH(body)), MAX(id) FROM t").first)
        #expect(copied.values == snapshot.values, "the copy holds the reader's snapshot")
        let now = try #require(try writer.query("SELECT COUNT(*) FROM t").first?.int(0))
        #expect(now == 1500 + Int64(commits), "and the writer's rows are all in the source")
    }

    /// `StoreBackup.copy` of a store that keeps appending from another thread, and appends
    /// 1,500 more (new batches of data keys among them) between the two files' snapshots:
    /// both copies pass the integrity check, no alert in the copy lacks its data key (copying
    /// the key store first fails here), every alert appended before the copy began reads back
    /// whole from it, and the summary counts what is there.
    @Test func aStoreCopiedWhileAlertsAreAppendedHasEveryAlertsKey() async throws {
        let path = temporaryDatabasePath()
        let database = try Database(path: path)
        let log = try EmbeddedAlertLog(database: database, masterKey: testMasterKey)
        var before: [Alert] = []
        for n in 0..<300 {
            let alert = makeAlert(country: n % 2 == 0 ? "BY" : "CO", at: 1_795_338_843_120 + Int64(n))
            _ = try appendNow(log, alert).get()
            before.append(alert)
        }
        let appending = Atomic<Bool>(true)
        let appendedDuring = Atomic<Int>(0)
        let appender = Thread {
            var n = 0
            while appending.load(ordering: .acquiring) && n < 20_000 {
                if case .success = appendNow(log, makeAlert(at: 1_795_338_900_000 + Int64(n))) { appendedDuring.add(1, ordering: .relaxed) }
                n += 1
            }
        }
        appender.start()
        // Once the appender has committed, so the copy runs beside its writes.
        #expect(await waitUntil(within: 30) { appendedDuring.load(ordering: .relaxed) > 0 })
        let directory = TemporaryDirectory.make("vigil-backup")
        let batch = (0..<1500).map { n in (alert: makeAlert(country: "VE", at: 1_795_339_000_000 + Int64(n)), idempotency: IdempotencyClaim?.none) }
        let between = Mutex<[Result<AppendReceipt, AlertLogError>]>([])
        let summary = try StoreBackup.copy(storePath: path, keysPath: database.keysPath, into: directory, pagesPerStep: 4) {
            let done = Atomic<Bool>(false)
            log.appendAll(batch) { results in
                between.withLock { $0 = results }
                done.store(true, ordering: .releasing)
            }
            for _ in 0..<6000 where !done.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.005) }
        }
        #expect(between.withLock { $0.count } == batch.count && between.withLock { $0.allSatisfy { (try? $0.get()) != nil } }, "the batch was appended between the snapshots")
        appending.store(false, ordering: .releasing)
        #expect(await waitUntil(within: 30) { appender.isFinished })
        database.close()
        let copiedStore = (directory as NSString).appendingPathComponent(StoreBackup.storeFileName)
        let copiedKeys = (directory as NSString).appendingPathComponent(StoreBackup.keysFileName)
        #expect(summary.counts.erasedAlerts == 0, "every alert in the copy has its data key")
        #expect(summary.counts.alerts >= Int64(before.count) && summary.counts.dataKeys >= summary.counts.alerts)
        #expect(summary.lastOffset == summary.counts.alerts, "offsets are 1…n")
        #expect(summary.schemaVersion == StoreBackup.schemaVersion && summary.masterKeyCheck?.count == 64)
        for name in [StoreBackup.storeFileName, StoreBackup.keysFileName] {
            let attributes = try FileManager.default.attributesOfItem(atPath: (directory as NSString).appendingPathComponent(name))
            #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(name) is readable by its owner only")
        }
        let listing = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(listing == [StoreBackup.keysFileName, StoreBackup.storeFileName], "nothing but the two copies: \(listing)")
        let restored = try EmbeddedAlertLog(database: try Database(path: copiedStore, keysPath: copiedKeys), masterKey: testMasterKey)
        for alert in before { #expect(try restored.alert(id: alert.id)?.alert == alert, "\(alert.id) reads back whole from the copy") }
        #expect(try restored.lastOffset() == summary.lastOffset)
    }

    /// An alert erased after the copy was taken: `ErasureCarryOver` deletes its key in the
    /// copy too (and only its), with an audit line; a store of another lineage is refused.
    @Test func erasuresMadeAfterTheCopyAreReapplied() throws {
        let path = temporaryDatabasePath()
        let database = try Database(path: path)
        let log = try EmbeddedAlertLog(database: database, masterKey: testMasterKey)
        let kept = makeAlert(), erased = makeAlert(country: "CO"), erasedBefore = makeAlert(country: "VE")
        for alert in [kept, erased, erasedBefore] { _ = try appendNow(log, alert).get() }
        #expect(try log.erase(.alert(erasedBefore.id)) == [erasedBefore.id])
        let directory = TemporaryDirectory.make("vigil-backup")
        let summary = try StoreBackup.copy(storePath: path, keysPath: database.keysPath, into: directory)
        #expect(summary.counts.alerts == 3 && summary.counts.erasedAlerts == 1)
        #expect(try log.erase(.alert(erased.id)) == [erased.id])
        database.close()
        let copiedStore = (directory as NSString).appendingPathComponent(StoreBackup.storeFileName)
        let copiedKeys = (directory as NSString).appendingPathComponent(StoreBackup.keysFileName)

        let other = temporaryDatabasePath()
        let otherDatabase = try Database(path: other)
        _ = try EmbeddedAlertLog(database: otherDatabase, masterKey: testMasterKey)
        otherDatabase.close()
        #expect(throws: ErasureCarryOverError.self, "a store with its own master-key check is another store") {
            try ErasureCarryOver.apply(from: other, newerKeys: otherDatabase.keysPath, to: copiedStore, restoredKeys: copiedKeys)
        }

        let reapplied = try ErasureCarryOver.apply(from: path, newerKeys: database.keysPath, to: copiedStore, restoredKeys: copiedKeys)
        #expect(reapplied == [erased.id])
        #expect(try StoreBackup.summary(storePath: copiedStore, keysPath: copiedKeys).counts.erasedAlerts == 2)
        #expect(try ErasureCarryOver.apply(from: path, newerKeys: database.keysPath, to: copiedStore, restoredKeys: copiedKeys).isEmpty, "a second run finds nothing")
        let restoredDatabase = try Database(path: copiedStore, keysPath: copiedKeys)
        let restored = try EmbeddedAlertLog(database: restoredDatabase, masterKey: testMasterKey)
        #expect(try restored.alert(id: erased.id)?.alert.defender.name == RedactionMark.erased)
        #expect(try restored.alert(id: kept.id)?.alert == kept)
        let audit = try AuditTrail(database: restoredDatabase).entries(action: .alertErased)
        #expect(audit.map(\.target) == [erased.id])
    }
}
