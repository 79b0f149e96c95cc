import Synchronization
import Dispatch
import Foundation
import Testing
import VigilTestSupport
import VigilCore
@testable import VigilStore

func temporaryDatabasePath() -> String {
    (TemporaryDirectory.make("vigil-store") as NSString).appendingPathComponent("vigil.sqlite")
}

/// Every byte of every file of the store's directory (log, key file, their WALs), as text to
/// search for a name.
func rawFiles(of path: String) -> String {
    let directory = (path as NSString).deletingLastPathComponent
    let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return files.compactMap { FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent($0)) }
        .map { String(decoding: $0, as: Unicode.ASCII.self) }.joined()
}

/// One master key for every store test, so a reopened store opens its identities.
let testMasterKey = try! MasterKey(text: String(repeating: "ab", count: 32))

func makeAlert(country: String = "BY", at ms: Int64 = 1_795_338_843_120, caseID: String? = nil, kind: AlertKind = .alert) -> Alert {
    let id = ULID(time: Timestamp(milliseconds: ms)).description
    return Alert(
        id: id, caseID: caseID, kind: kind, receivedAt: Timestamp(milliseconds: ms), country: CountryCode(country)!,
        threat: .arrest, severity: .critical, certainty: .observed, defender: Defender(name: "Test Defender"),
        summary: "arrested", source: AlertSource(organisation: "partner"))
}

/// Appends and waits for the commit.
func appendNow(_ log: EmbeddedAlertLog, _ alert: Alert, claim: IdempotencyClaim? = nil) -> Result<AppendReceipt, AlertLogError> {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<AppendReceipt, AlertLogError>!
    log.append(alert, idempotency: claim) { result = $0; done.signal() }
    done.wait()
    return result
}

@Suite struct EmbeddedAlertLogTests {
    @Test func appendsInOrderAndReadsBack() throws {
        let db = try Database(path: temporaryDatabasePath())
        let log = try EmbeddedAlertLog(database: db, masterKey: testMasterKey)
        let first = makeAlert(), second = makeAlert(country: "CO")
        let a = try appendNow(log, first).get(), b = try appendNow(log, second).get()
        #expect(a.offset == 1 && b.offset == 2 && !a.repeated)
        #expect(try log.alert(id: first.id)?.alert == first)
        #expect(try log.alert(id: "nope") == nil)
        #expect(try log.lastOffset() == 2)
    }

    @Test func survivesCloseAndReopen() throws {
        let path = temporaryDatabasePath()
        var ids: [String] = []
        do {
            let db = try Database(path: path)
            let log = try EmbeddedAlertLog(database: db, masterKey: testMasterKey)
            for _ in 0..<10 { let a = makeAlert(); ids.append(a.id); _ = try appendNow(log, a).get() }
            db.close()
        }
        let reopened = try EmbeddedAlertLog(database: try Database(path: path), masterKey: testMasterKey)
        #expect(try reopened.lastOffset() == 10)
        #expect(try reopened.alerts(matching: AlertQuery(limit: 100)).map(\.alert.id) == ids)
        #expect(try appendNow(reopened, makeAlert()).get().offset == 11)
    }

    @Test func selectsByOffsetCountryTimeAndCase() throws {
        let log = try EmbeddedAlertLog(database: try Database(path: temporaryDatabasePath()), masterKey: testMasterKey)
        let base: Int64 = 1_795_338_843_000
        let countries = ["BY", "CO", "PH", "BY", "GT", "BY"]
        var alerts: [Alert] = []
        for (i, c) in countries.enumerated() {
            let a = makeAlert(country: c, at: base + Int64(i) * 1000)
            alerts.append(a)
            _ = try appendNow(log, a).get()
        }
        #expect(try log.alerts(matching: AlertQuery(country: CountryCode("BY"))).map(\.offset) == [1, 4, 6])
        #expect(try log.alerts(matching: AlertQuery(fromOffset: 2, toOffset: 4)).map(\.offset) == [2, 3, 4])
        #expect(try log.alerts(matching: AlertQuery(since: Timestamp(milliseconds: base + 1000), until: Timestamp(milliseconds: base + 3000))).map(\.offset) == [2, 3])
        #expect(try log.alerts(matching: AlertQuery(since: Timestamp(milliseconds: base + 2000), country: CountryCode("BY"))).map(\.offset) == [4, 6])
        #expect(try log.alerts(matching: AlertQuery(limit: 2)).count == 2)
        let update = makeAlert(caseID: alerts[0].id, kind: .update)
        _ = try appendNow(log, update).get()
        #expect(try log.alerts(matching: AlertQuery(caseID: alerts[0].id)).map(\.alert.id) == [alerts[0].id, update.id])
    }

    @Test func idempotencyKeyReturnsTheFirstAnswer() throws {
        let log = try EmbeddedAlertLog(database: try Database(path: temporaryDatabasePath()), masterKey: testMasterKey)
        let claim = IdempotencyClaim(organisation: "partner", key: "k-1", fingerprint: "body-a")
        let first = try appendNow(log, makeAlert(), claim: claim).get()
        let retry = try appendNow(log, makeAlert(), claim: claim).get()
        #expect(retry.id == first.id && retry.offset == first.offset && retry.repeated)
        #expect(try log.lastOffset() == 1)

        let conflict = appendNow(log, makeAlert(), claim: IdempotencyClaim(organisation: "partner", key: "k-1", fingerprint: "body-b"))
        #expect(conflict == .failure(.idempotencyConflict(key: "k-1")))
        // Another organisation's key of the same text is its own.
        let other = try appendNow(log, makeAlert(), claim: IdempotencyClaim(organisation: "other", key: "k-1", fingerprint: "body-b")).get()
        #expect(!other.repeated && other.offset == 2)
        #expect(try log.lastOffset() == 2)
    }

    @Test func routingViewsCarryWhatRoutingReads() throws {
        let log = try EmbeddedAlertLog(database: try Database(path: temporaryDatabasePath()), masterKey: testMasterKey)
        let first = makeAlert(country: "CO")
        let update = makeAlert(country: "CO", caseID: first.id, kind: .update)
        for alert in [first, update, makeAlert(country: "BY")] { _ = try appendNow(log, alert).get() }
        let query = AlertQuery(country: CountryCode("CO"), limit: 10)
        let full = try log.alerts(matching: query), views = try log.routingViews(matching: query)
        #expect(views.map(\.offset) == full.map(\.offset))
        for (view, stored) in zip(views.map(\.alert), full.map(\.alert)) {
            #expect(view.id == stored.id && view.caseID == stored.caseID && view.kind == stored.kind && view.status == stored.status)
            #expect(view.country == stored.country && view.threat == stored.threat && view.severity == stored.severity && view.receivedAt == stored.receivedAt)
            #expect(view.defender.name.isEmpty && view.summary.isEmpty, "no identity in a routing view")
        }
    }

    @Test func concurrentAppendsShareCommits() throws {
        let db = try Database(path: temporaryDatabasePath())
        let log = try EmbeddedAlertLog(database: db, masterKey: testMasterKey)
        let before = db.commitStatistics
        let count = 400
        let group = DispatchGroup()
        let lock = NSLock()
        nonisolated(unsafe) var offsets: [LogOffset] = []
        for _ in 0..<count {
            group.enter()
            DispatchQueue.global().async {
                log.append(makeAlert(), idempotency: nil) { result in
                    if case .success(let receipt) = result { lock.withLock { offsets.append(receipt.offset) } }
                    group.leave()
                }
            }
        }
        #expect(group.wait(timeout: .now() + 60) == .success)
        #expect(Set(offsets).count == count)
        #expect(offsets.max() == LogOffset(count))
        let after = db.commitStatistics
        let stats = (commits: after.commits - before.commits, jobs: after.jobs - before.jobs)
        // Besides the appends, the vault commits a batch of fresh data keys now and then.
        #expect(stats.jobs >= UInt64(count) && stats.jobs <= UInt64(count) + 3)
        #expect(stats.commits < UInt64(count), "group commit should batch concurrent appends: \(stats)")
    }

    /// A job that answers before its commit is told while the transaction is still open:
    /// a reader does not see its row yet, and sees it once the commit is done.
    @Test func aWriteCanAnswerBeforeItsCommit() throws {
        let db = try Database(path: temporaryDatabasePath())
        let count: @Sendable () throws -> Int64 = { try db.read { try $0.connection.query("SELECT COUNT(*) FROM consumer_positions").first?.int(0) ?? -1 } }
        let answered = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var seenAtAnswer: Int64 = -1
        nonisolated(unsafe) var result: Result<Int, Error>?
        db.write(answeringBeforeCommit: true, { transaction in
            try transaction.connection.run("INSERT INTO consumer_positions(consumer, log_offset) VALUES ('early', 7)")
        }) { outcome in
            result = outcome
            seenAtAnswer = (try? count()) ?? -1
            answered.signal()
        }
        #expect(answered.wait(timeout: .now() + 10) == .success)
        #expect((try? result?.get()) == 1)
        #expect(seenAtAnswer == 0, "answered before the commit, so readers do not see the row yet")
        _ = try db.writeAndWait { _ in 0 }  // a later job commits after the early one's batch
        #expect(try count() == 1)
    }

    /// A batch of jobs whose loss would only repeat a send commits with `synchronous=NORMAL`,
    /// without its own fsync; a durable job in the batch, or the next durable write, commits
    /// with `FULL` again, and what the first batch wrote is committed all the same.
    @Test func onlyDurableJobsMakeACommitWaitForTheDisk() throws {
        let db = try Database(path: temporaryDatabasePath())
        let insert: @Sendable (String) -> @Sendable (WriteTransaction) throws -> Int64 = { name in
            { transaction in
                try transaction.connection.run("INSERT INTO consumer_positions(consumer, log_offset) VALUES (?, 1)", [.text(name)])
                return try transaction.connection.query("PRAGMA main.synchronous").first?.int(0) ?? -1
            }
        }
        let normal: Int64 = 1, full: Int64 = 2
        var before = db.commitStatistics
        let repeatable = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var level: Int64 = -1
        db.write(durable: false, insert("outcome")) { result in
            level = (try? result.get()) ?? -1
            repeatable.signal()
        }
        #expect(repeatable.wait(timeout: .now() + 10) == .success)
        var after = db.commitStatistics
        #expect(level == normal && after.commits - before.commits == 1 && after.synced == before.synced)
        #expect(try db.read { try $0.connection.query("SELECT COUNT(*) FROM consumer_positions WHERE consumer = 'outcome'").first?.int(0) } == 1)
        // A claim answered before its commit is not durable either.
        before = after
        #expect(try db.writeAndWait(answeringBeforeCommit: true, insert("claim")) == normal)
        _ = try db.writeAndWait(durable: false) { _ in 0 }  // the claim's batch has committed once this one has
        after = db.commitStatistics
        #expect(after.synced == before.synced)
        // A durable write syncs again.
        before = after
        #expect(try db.writeAndWait(insert("append")) == full)
        after = db.commitStatistics
        #expect(after.synced - before.synced == 1)
        // One durable job in a batch makes the whole batch sync.
        before = after
        let rode = DispatchSemaphore(value: 0)
        db.writeWithNextBatch(within: 30, { try $0.connection.run("INSERT INTO consumer_positions(consumer, log_offset) VALUES ('audit', 1)") }) { _ in rode.signal() }
        #expect(try db.writeAndWait(durable: false, insert("another outcome")) == full)
        #expect(rode.wait(timeout: .now() + 5) == .success)
        after = db.commitStatistics
        #expect(after.commits - before.commits == 1 && after.synced - before.synced == 1)
    }

    /// A job that waits for company commits with the next write, in one commit; alone, it
    /// commits at its deadline; and closing the store commits it rather than dropping it.
    @Test func aJobWaitingForCompanyRidesWithTheNextWrite() throws {
        let db = try Database(path: temporaryDatabasePath())
        let insert: @Sendable (String) -> @Sendable (WriteTransaction) throws -> Void = { name in
            { try $0.connection.run("INSERT INTO consumer_positions(consumer, log_offset) VALUES (?, 1)", [.text(name)]) }
        }
        // Alone: not before its deadline, but soon after.
        let alone = DispatchSemaphore(value: 0)
        db.writeWithNextBatch(within: 0.3, insert("alone")) { _ in alone.signal() }
        #expect(alone.wait(timeout: .now() + 0.15) == .timedOut)
        #expect(alone.wait(timeout: .now() + 10) == .success)
        // With company: one commit for both, long before the deadline.
        let before = db.commitStatistics
        let rode = DispatchSemaphore(value: 0)
        db.writeWithNextBatch(within: 30, insert("rider")) { _ in rode.signal() }
        _ = try db.writeAndWait(insert("company"))
        #expect(rode.wait(timeout: .now() + 5) == .success)
        let after = db.commitStatistics
        #expect(after.commits - before.commits == 1 && after.jobs - before.jobs == 2)
        // At close: committed, not dropped.
        let closing = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var closingResult: Result<Void, Error>?
        db.writeWithNextBatch(within: 30, insert("closing")) { closingResult = $0; closing.signal() }
        db.close()
        #expect(closing.wait(timeout: .now() + 5) == .success)
        #expect((try? closingResult?.get()) != nil)
    }

    @Test func notifiesObserversAfterCommit() throws {
        let log = try EmbeddedAlertLog(database: try Database(path: temporaryDatabasePath()), masterKey: testMasterKey)
        let seen = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var observed: LogOffset = 0
        let observation = log.observeAppends { offset in observed = offset; seen.signal() }
        _ = try appendNow(log, makeAlert()).get()
        #expect(seen.wait(timeout: .now() + 5) == .success)
        #expect(observed == 1)
        observation.cancel()
        _ = try appendNow(log, makeAlert()).get()
        #expect(seen.wait(timeout: .now() + 0.2) == .timedOut)
    }

    @Test func aFailedInsertIsReportedAndRollsBackAlone() throws {
        let path = temporaryDatabasePath()
        do {
            let db = try Database(path: path)
            _ = try appendNow(try EmbeddedAlertLog(database: db, masterKey: testMasterKey), makeAlert()).get()
            db.close()
        }
        // A failing write is reported as unavailable, never as success, and rolls back alone.
        let db = try Database(path: path)
        let log = try EmbeddedAlertLog(database: db, masterKey: testMasterKey)
        let duplicate = makeAlert()
        _ = try appendNow(log, duplicate).get()
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<AppendReceipt, AlertLogError>?
        log.append(duplicate, idempotency: nil) { outcome = $0; done.signal() }  // same id: UNIQUE violation
        done.wait()
        guard case .failure(.unavailable)? = outcome else { Issue.record("a failed insert must not succeed: \(String(describing: outcome))"); return }
        #expect(try log.lastOffset() == 2)
    }
}

@Suite struct TokenStoreTests {
    @Test func storesOnlyHashesAndRevokes() throws {
        let path = temporaryDatabasePath()
        let tokens = TokenStore(database: try Database(path: path))
        let record = try tokens.register(secret: "secret-abcdefghijklmnop", organisation: "FIDH", scopes: [.alertsWrite], clearance: .restricted)
        #expect(try tokens.authenticate(secret: "secret-abcdefghijklmnop")?.organisation == "FIDH")
        #expect(try tokens.authenticate(secret: "secret-abcdefghijklmnoq") == nil)
        let raw = try String(decoding: Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
            + ((try? String(contentsOfFile: path + "-wal", encoding: .isoLatin1)) ?? "")
        #expect(!raw.contains("secret-abcdefghijklmnop"))
        #expect(try tokens.revoke(id: record.id))
        #expect(try tokens.authenticate(secret: "secret-abcdefghijklmnop") == nil)
        #expect(try !tokens.revoke(id: record.id))
    }
}

/// `appendAll` on the embedded log (issue 22's batch ingest): one write job, one commit, for
/// the whole batch; an alert whose idempotency key was used for another body is refused
/// alone; the router hears of the newest offset once.
@Suite struct EmbeddedBatchAppendTests {
    func appendAll(_ log: EmbeddedAlertLog, _ entries: [(alert: Alert, idempotency: IdempotencyClaim?)]) async -> [Result<AppendReceipt, AlertLogError>] {
        await withCheckedContinuation { continuation in log.appendAll(entries) { continuation.resume(returning: $0) } }
    }

    @Test func aBatchIsOneCommitAndAConflictRefusesItsAlertAlone() async throws {
        let db = try Database(path: temporaryDatabasePath())
        let log = try EmbeddedAlertLog(database: db, masterKey: testMasterKey)
        let claim = IdempotencyClaim(organisation: "partner", key: "k", fingerprint: "first")
        _ = try appendNow(log, makeAlert(), claim: claim).get()
        let heard = Mutex<[LogOffset]>([])
        let observation = log.observeAppends { offset in heard.withLock { $0.append(offset) } }
        defer { observation.cancel() }
        let before = db.commitStatistics
        let batch = [makeAlert(country: "CO"), makeAlert(country: "PH"), makeAlert(country: "GT"), makeAlert(country: "BY")]
        let reuse = IdempotencyClaim(organisation: "partner", key: "k", fingerprint: "other")
        let same = IdempotencyClaim(organisation: "partner", key: "k2", fingerprint: "x")
        let results = await appendAll(log, [(batch[0], nil), (batch[1], reuse), (batch[2], same), (batch[3], same)])
        #expect(db.commitStatistics.jobs - before.jobs == 1, "the whole batch is one write job")
        #expect(db.commitStatistics.commits - before.commits == 1)
        let receipts = results.map { try? $0.get() }
        #expect(receipts[0]?.offset == 2 && receipts[2]?.offset == 3)
        guard case .failure(.idempotencyConflict(let key)) = results[1] else { Issue.record("\(results[1])"); return }
        #expect(key == "k")
        #expect(receipts[3] == AppendReceipt(id: batch[2].id, offset: 3, repeated: true), "a key repeated within the batch answers the first")
        #expect(try log.alert(id: batch[0].id)?.alert == batch[0] && log.alert(id: batch[1].id) == nil)
        #expect(try log.lastOffset() == 3)
        // The first append's own notification may still be on its way: only the batch's are counted.
        for _ in 0..<100 where !heard.withLock({ $0.contains(3) }) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(heard.withLock { $0.filter { $0 > 1 } } == [3], "one notification for the batch, with its newest offset")
    }
}
