import Dispatch
import Foundation
import Synchronization
import VigilConcurrency

/// The embedded store: one SQLite file in WAL mode with `synchronous=FULL`.
///
/// Writes go through one serial writer that drains every pending write job into a single
/// transaction — group commit: concurrent appends share one fsync instead of paying one
/// each — and answers each job only after the commit. A batch made only of jobs whose loss
/// would just repeat a send (claims and outcomes of deliveries) commits without its own
/// fsync; the next durable commit's fsync covers its pages. Reads use a small pool of read
/// connections, which WAL lets run beside the writer.
public final class Database: @unchecked Sendable {
    // @unchecked: `writer` and `writerSyncs` are `writerQueue`'s alone; a reader is lent to one caller at a time; the rest is in `state`.
    /// The file path.
    public let path: String
    /// The key file attached as schema `keys`: the alerts' wrapped data keys, kept apart so
    /// that the log file and its backups never hold a key (see `IdentityVault`).
    public let keysPath: String
    private let writer: SQLiteConnection
    private let writerQueue = DispatchQueue(label: "vigil.store.writer", qos: .userInitiated)
    private let state: Mutex<State>
    private let readers: [SQLiteConnection]
    /// Whether the writer's `synchronous` is `FULL` now (`NORMAL` otherwise); the writer's.
    private var writerSyncs = true

    /// What the writer's callers, the writer and the readers share.
    private struct State {
        var pending: [any PendingWrite] = []
        var drainScheduled = false
        /// A drain set to run later for jobs that wait for company (`writeWithNextBatch`).
        var laterDrainScheduled = false
        var closed = false
        /// The readers not lent out.
        var freeReaders: [Int]
        /// Callers waiting for a reader to be returned, woken one per return, first come first.
        var readerWaiters: [@Sendable () -> Void] = []
        var commitCount: UInt64 = 0
        var committedJobs: UInt64 = 0
        var syncedCommits: UInt64 = 0
    }

    /// The writer's page cache unless told otherwise: 4 MiB (see `VigilConfiguration.storeCacheMiB`).
    public static let defaultCacheKiB = 4096

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// The key file defaults to the log file's name with `.keys.sqlite` in place of its
    /// extension. It is opened with `secure_delete`, so an erased key's bytes are
    /// overwritten rather than left in a free page.
    ///
    /// `cacheKiB` is the writer's page cache for the log file; the writer's cache for the key
    /// file and each reader's caches get an eighth of it. Pages that fall out are read again
    /// from the OS's file cache, so this trades resident memory for some CPU, not for disk
    /// reads. SQLite's own default would be 2 MiB per file per connection.
    public init(path: String, keysPath: String? = nil, readers readerCount: Int = 4, cacheKiB: Int = Database.defaultCacheKiB) throws {
        self.path = path
        self.keysPath = keysPath ?? Database.defaultKeysPath(for: path)
        writer = try SQLiteConnection(path: path)
        try writer.attachKeys(self.keysPath)
        let small = max(256, cacheKiB / 8)
        try writer.execute(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-\(cacheKiB); PRAGMA keys.cache_size=-\(small); PRAGMA temp_store=MEMORY;")
        try Migrations.apply(to: writer)
        try writer.execute(Migrations.keysSchema)
        var readers: [SQLiteConnection] = []
        for _ in 0..<max(1, readerCount) {
            let reader = try SQLiteConnection(path: path)
            try reader.attachKeys(self.keysPath)
            try reader.execute("PRAGMA query_only=ON; PRAGMA cache_size=-\(small); PRAGMA keys.cache_size=-\(small);")
            readers.append(reader)
        }
        self.readers = readers
        state = Mutex(State(freeReaders: Array(readers.indices)))
    }

    /// Runs `body` in the next group-commit transaction and calls `completion` after the
    /// commit, with the body's result or the error that stopped it. A body that throws is
    /// rolled back alone; the others in the batch still commit.
    ///
    /// With `answeringBeforeCommit`, `completion` is called as soon as the body has run in
    /// the writer, before the commit and its fsync: for work whose loss in a crash only
    /// repeats something (a delivery's claim, lost, leaves it pending, so it is sent again),
    /// never for anything a caller acknowledges as durable. Such a job learns how its
    /// commit ended through `afterCommit`, if it gives one.
    ///
    /// With `durable: false` the job's loss in a power cut (not a process crash: the OS has
    /// the pages then) only repeats work, as a delivery's claim or outcome does: a batch of
    /// such jobs alone commits with `synchronous=NORMAL`, without waiting for the disk, and
    /// the next durable commit's fsync of the write-ahead log makes it durable too. Jobs
    /// answered before their commit are never durable.
    public func write<T: Sendable>(
        answeringBeforeCommit: Bool = false,
        durable: Bool = true,
        _ body: @escaping @Sendable (WriteTransaction) throws -> T,
        completion: @escaping @Sendable (Result<T, Error>) -> Void,
        afterCommit: (@Sendable (Error?) -> Void)? = nil
    ) {
        let schedule: Bool? = state.withLock { state in
            if state.closed { return nil }
            // Made here, not before: a job is not Sendable, so it may only enter `state` fresh.
            state.pending.append(Write(
                body: body, answersBeforeCommit: answeringBeforeCommit, durable: durable && !answeringBeforeCommit, completion: completion,
                afterCommit: afterCommit))
            defer { state.drainScheduled = true }
            return !state.drainScheduled
        }
        guard let schedule else {
            completion(.failure(StoreError.closed))
            afterCommit?(StoreError.closed)
            return
        }
        if schedule { writerQueue.async { self.drain(evenAlone: true) } }
    }

    /// Runs `body` in the batch of the next write any other caller makes, or after `delay`
    /// seconds if none comes, then calls `completion` after that commit. For bookkeeping
    /// that must not cost a commit of its own (an audit line per filing): at a few alerts a
    /// second each such job was an extra fsync, queued between an append and its routing.
    public func writeWithNextBatch(
        within delay: Double, _ body: @escaping @Sendable (WriteTransaction) throws -> Void,
        completion: @escaping @Sendable (Result<Void, Error>) -> Void
    ) {
        let schedule: Bool? = state.withLock { state in
            if state.closed { return nil }
            let job = Write(body: body, answersBeforeCommit: false, durable: true, completion: completion, afterCommit: nil)
            job.waitsForCompany = delay
            state.pending.append(job)
            return !state.drainScheduled
        }
        guard let schedule else {
            completion(.failure(StoreError.closed))
            return
        }
        if schedule { scheduleLaterDrain(after: delay) }
    }

    /// Makes sure a drain runs within `delay` seconds for jobs waiting for company.
    private func scheduleLaterDrain(after delay: Double) {
        let schedule = state.withLock { state in
            defer { state.laterDrainScheduled = true }
            return !state.laterDrainScheduled
        }
        guard schedule else { return }
        writerQueue.asyncAfter(deadline: .now() + delay) {
            let run = self.state.withLock { state in
                state.laterDrainScheduled = false
                // A drain running now takes every pending job, these included.
                guard !state.drainScheduled, !state.pending.isEmpty else { return false }
                state.drainScheduled = true
                return true
            }
            if run { self.drain(evenAlone: true) }
        }
    }

    /// Runs `body` in the next group commit and waits for the commit (or, with
    /// `answeringBeforeCommit`, only for the body; `durable` as for `write`).
    ///
    /// It blocks its thread (`BlockingPool.wait`): call it from a blocking pool's thread or a
    /// dedicated one, never from a Dispatch thread that serves connections.
    public func writeAndWait<T: Sendable>(
        answeringBeforeCommit: Bool = false, durable: Bool = true, _ body: @escaping @Sendable (WriteTransaction) throws -> T
    ) throws -> T {
        try BlockingPool.wait { (answer: @escaping @Sendable (Result<T, Error>) -> Void) in
            write(answeringBeforeCommit: answeringBeforeCommit, durable: durable, body, completion: answer)
        }.get()
    }

    /// Runs `body` with a read connection; concurrent readers see the last committed state.
    /// The free list lends each connection to one caller at a time; when all are lent, the
    /// caller waits (`BlockingPool.wait`) until one is returned, then tries again. A returned
    /// reader goes back to the free list, where a running caller may take it before the woken
    /// one runs (as with a semaphore): handing it to the woken caller would leave it unused
    /// until that thread is scheduled, and reads would queue behind wake-ups.
    public func read<T>(_ body: (ReadTransaction) throws -> T) throws -> T {
        var index = state.withLock { $0.freeReaders.popLast() }
        while index == nil {
            BlockingPool.wait { (returned: @escaping @Sendable () -> Void) in
                let free = state.withLock { state in
                    if !state.freeReaders.isEmpty { return true }
                    state.readerWaiters.append(returned)
                    return false
                }
                if free { returned() }
            }
            index = state.withLock { $0.freeReaders.popLast() }
        }
        let lent = index!
        defer { returnReader(lent) }
        return try body(ReadTransaction(connection: readers[lent]))
    }

    /// Puts reader `index` back on the free list and wakes the first caller waiting for one.
    private func returnReader(_ index: Int) {
        let waiter: (@Sendable () -> Void)? = state.withLock { state in
            state.freeReaders.append(index)
            return state.readerWaiters.isEmpty ? nil : state.readerWaiters.removeFirst()
        }
        waiter?()
    }

    /// Transactions committed, write jobs they carried, and commits that waited for the disk,
    /// since opening; commits over jobs is the group-commit batch size.
    public var commitStatistics: (commits: UInt64, jobs: UInt64, synced: UInt64) {
        state.withLock { ($0.commitCount, $0.committedJobs, $0.syncedCommits) }
    }

    /// Finishes pending writes, then refuses new ones.
    public func close() {
        let wasClosed = state.withLock { state in
            defer { state.closed = true }
            return state.closed
        }
        // Waits for the writer (`BlockingPool.wait`): call it from a thread that may block.
        BlockingPool.wait { (done: @escaping @Sendable () -> Void) in
            writerQueue.async { [self] in
                // Jobs still waiting for company are committed now, not dropped.
                let run = state.withLock { state in
                    guard !state.drainScheduled, !state.pending.isEmpty else { return false }
                    state.drainScheduled = true
                    return true
                }
                if run { drain(evenAlone: true) }
                done()
            }
        }
        if !wasClosed { _ = try? writer.execute("PRAGMA main.wal_checkpoint(TRUNCATE); PRAGMA keys.wal_checkpoint(TRUNCATE)") }
    }

    /// Copies the key file's write-ahead log into the file and truncates it, so a deleted
    /// key's old page images leave the WAL; run after an erasure. Throws
    /// `StoreError.checkpointIncomplete` when SQLite could not finish (a reader held an
    /// older snapshot past the busy timeout): the WAL may still hold the erased key.
    /// It waits for the writer (`BlockingPool.wait`): call it from a thread that may block.
    public func checkpointKeys() throws {
        let row = try BlockingPool.wait { (answer: @escaping @Sendable (Result<SQLiteRow?, Error>) -> Void) in
            writerQueue.async { [self] in answer(Result<SQLiteRow?, Error> { try writer.query("PRAGMA keys.wal_checkpoint(TRUNCATE)").first }) }
        }.get()
        // The pragma answers (busy, frames in the WAL, frames checkpointed); busy = 1 when
        // it could not complete, which SQLite reports as a row, not as an error.
        guard let row, row.int(0) == 0 else {
            throw StoreError.checkpointIncomplete(keysPath)
        }
    }

    static func defaultKeysPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingPathExtension().path + ".keys.sqlite"
    }

    /// Commits what is pending, batch after batch, until nothing is. Jobs waiting for
    /// company are left for the next write or their deadline, unless `evenAlone`.
    private func drain(evenAlone: Bool = false) {
        var evenAlone = evenAlone
        while true {
            let alone = evenAlone
            let next: Drain = state.withLock { state in
                let batch = state.pending
                if batch.isEmpty {
                    state.drainScheduled = false
                    return .idle
                }
                if !alone, let delay = batch.compactMap(\.waitsForCompany).min(), batch.count == batch.filter({ $0.waitsForCompany != nil }).count {
                    state.drainScheduled = false
                    return .waitForCompany(delay)
                }
                state.pending.removeAll(keepingCapacity: true)
                return .commit(batch)
            }
            switch next {
            case .idle: return
            case .waitForCompany(let delay):
                scheduleLaterDrain(after: delay)
                return
            case .commit(let batch):
                evenAlone = false
                commit(batch)
            }
        }
    }

    /// What `drain` does next.
    private enum Drain {
        /// Nothing is pending.
        case idle
        /// Only jobs waiting for company are pending: a drain in this many seconds.
        case waitForCompany(Double)
        /// Commit these jobs.
        case commit([any PendingWrite])
    }

    private func commit(_ batch: [any PendingWrite]) {
        let syncs = batch.contains { $0.durable }
        do {
            // SQLite refuses to change `synchronous` inside a transaction.
            if syncs != writerSyncs {
                try writer.run(syncs ? "PRAGMA main.synchronous=FULL" : "PRAGMA main.synchronous=NORMAL")
                writerSyncs = syncs
            }
            // Transaction control through cached prepared statements: `execute` compiled
            // SAVEPOINT and RELEASE again for every job.
            try writer.run("BEGIN IMMEDIATE")
        } catch {
            for job in batch { job.finish(commitError: error) }
            return
        }
        let transaction = WriteTransaction(connection: writer)
        for job in batch {
            do {
                try writer.run("SAVEPOINT job")
                job.perform(transaction)
                if job.failed { try writer.run("ROLLBACK TO job") }
                try writer.run("RELEASE job")
            } catch {
                job.abort(error)
            }
            job.answerEarly()
        }
        do {
            try writer.run("COMMIT")
            state.withLock { state in
                state.commitCount += 1
                state.committedJobs += UInt64(batch.count)
                if syncs { state.syncedCommits += 1 }
            }
            for job in batch { job.finish(commitError: nil) }
        } catch {
            try? writer.execute("ROLLBACK")
            for job in batch { job.finish(commitError: error) }
        }
    }
}

/// Why the store refused work.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// The database was closed.
    case closed
    /// A row did not decode; the file may be damaged or from a newer version.
    case corrupt(String)
    /// The key file's write-ahead log could not be truncated (a reader held it open), so
    /// an erased key's old pages may still be in it.
    case checkpointIncomplete(String)

    public var description: String {
        switch self {
        case .closed: "the store is closed"
        case .checkpointIncomplete(let path):
            "the write-ahead log of the key file \(path) could not be truncated (a reader held it), so an erased key may still be on disk; retry the erasure"
        case .corrupt(let what): "the store holds data this version cannot read: \(what)"
        }
    }
}

/// The writer connection inside a group-commit transaction.
public struct WriteTransaction {
    let connection: SQLiteConnection
}

/// A read connection.
public struct ReadTransaction {
    let connection: SQLiteConnection
}

private protocol PendingWrite: AnyObject {
    var failed: Bool { get }
    /// Whether the job's commit must reach the disk before it is answered.
    var durable: Bool { get }
    /// For a job that waits for other writes to join: the longest wait, in seconds.
    var waitsForCompany: Double? { get }
    func perform(_ transaction: WriteTransaction)
    func abort(_ error: Error)
    /// Answers now, before the commit, if the job asked for that.
    func answerEarly()
    func finish(commitError: Error?)
}

private final class Write<T: Sendable>: PendingWrite {
    let body: @Sendable (WriteTransaction) throws -> T
    let completion: @Sendable (Result<T, Error>) -> Void
    let answersBeforeCommit: Bool
    let durable: Bool
    let afterCommit: (@Sendable (Error?) -> Void)?
    var waitsForCompany: Double?
    var answered = false
    var result: Result<T, Error>?

    init(
        body: @escaping @Sendable (WriteTransaction) throws -> T, answersBeforeCommit: Bool, durable: Bool,
        completion: @escaping @Sendable (Result<T, Error>) -> Void, afterCommit: (@Sendable (Error?) -> Void)?
    ) {
        self.body = body
        self.answersBeforeCommit = answersBeforeCommit
        self.durable = durable
        self.completion = completion
        self.afterCommit = afterCommit
    }

    var failed: Bool { if case .failure = result { true } else { false } }

    func perform(_ transaction: WriteTransaction) { result = Result { try body(transaction) } }

    func abort(_ error: Error) { result = .failure(error) }

    func answerEarly() {
        guard answersBeforeCommit, !answered else { return }
        answered = true
        completion(result ?? .failure(StoreError.closed))
    }

    func finish(commitError: Error?) {
        if let afterCommit {
            // A job that failed on its own was rolled back alone; its own error is the news.
            if case .failure(let error) = result { afterCommit(error) } else { afterCommit(commitError) }
        }
        guard !answered else { return }
        if let commitError {
            completion(.failure(commitError))
        } else {
            completion(result ?? .failure(StoreError.closed))
        }
    }
}
