import Dispatch
import Foundation
import Synchronization
import VigilConcurrency
import VigilCore
import VigilCrypto

/// The delivery queue of the embedded backend: the `deliveries` table and the
/// `consumer_positions` row of the router, in the same SQLite file as the log.
public final class EmbeddedDeliveryQueue: DeliveryQueue, RoutingLedger, Sendable {
    private let database: Database
    /// Whether the last routing write committed; until one does again, a routing's claim is
    /// handed over only once its write has run (see `recordRouting(…claim:handOff:)`).
    private let routingWritesCommit = Mutex(true)
    /// For each held channel, the trial time its backlog was last moved to and when (see
    /// `claimDue`).
    private let heldMoved = Mutex<[String: (until: Timestamp, at: Timestamp)]>([:])

    /// The queue kept in `database`.
    public init(database: Database) { self.database = database }

    /// The stable delivery id of DESIGN §6, the same on every retry and every replay: the
    /// alert's ULID, then 80 bits of SHA-256 over alert, subscriber and channel. Leading with
    /// the time-ordered ULID makes new deliveries append to the primary-key index instead of
    /// landing at random pages (a pure hash made every commit dirty pages all over the tree).
    public static func deliveryID(alertID: String, subscriberID: String, channelID: String, followUp: FollowUp? = nil) -> String {
        DeliveryID.make(alertID: alertID, subscriberID: subscriberID, channelID: channelID, followUp: followUp?.rawValue)
    }

    /// The stable id of `d`.
    static func deliveryID(of d: RoutedDelivery) -> String {
        deliveryID(alertID: d.alertID, subscriberID: d.subscriberID, channelID: d.channelID, followUp: d.followUp)
    }

    /// When `d`, recorded at `now`, is first due: a follow-up at its due time, anything else at once.
    static func firstDue(of d: RoutedDelivery, now: Int64) -> Int64 { d.dueAt?.milliseconds ?? now }

    /// Records `deliveries` without moving any consumer's position (the API's
    /// `acknowledged(by:)` reports); one that exists already is left alone.
    public func record(_ deliveries: [RoutedDelivery]) throws {
        let now = Timestamp.now().milliseconds
        _ = try database.writeAndWait { transaction in
            try Self.insert(deliveries, through: nil, consumer: nil, now: now, into: transaction.connection)
        }
    }

    public func recordRouting(_ deliveries: [RoutedDelivery], through offset: LogOffset, consumer: String) throws {
        let now = Timestamp.now().milliseconds
        _ = try database.writeAndWait { transaction in
            try Self.insert(deliveries, through: offset, consumer: consumer, now: now, into: transaction.connection)
        }
    }

    /// Claims fresh deliveries for the workers as they are recorded, and hands them over as
    /// soon as the write is queued, before it runs: a routing no longer waits for the commit
    /// (and its fsync) the writer is in the middle of. The sends' outcomes queue behind the
    /// write, so they find their rows. The router still advances only once the commit is
    /// durable; if it fails, routing is redone and these sends repeat, with the same
    /// `webhook-id`. So that a failing store cannot repeat them again and again, after a
    /// failed routing write the claim waits for its write to run, until one commits again.
    public func recordRouting(
        _ deliveries: [RoutedDelivery], through offset: LogOffset, consumer: String, claim: ClaimRequest,
        handOff: @escaping @Sendable ([DeliveryRecord]) -> Void
    ) throws {
        let now = Timestamp.now()
        let claimed = Self.freshClaims(deliveries, claim: claim, now: now)
        let ids = Set(claimed.map(\.id))
        let leaseUntil = DeliveryArithmetic.sum(now.milliseconds, claim.leaseMilliseconds)
        let early = routingWritesCommit.withLock { $0 }
        let failure: Error? = BlockingPool.wait { (committed: @escaping @Sendable (Error?) -> Void) in
            database.write({ transaction in
                try Self.insert(deliveries, through: offset, consumer: consumer, now: now.milliseconds, into: transaction.connection, claimed: ids, leaseUntil: leaseUntil)
            }, completion: { result in
                if case .failure(let error) = result { committed(error) } else { committed(nil) }
            })
            if early { handOff(claimed) }
        }
        routingWritesCommit.withLock { $0 = failure == nil }
        if !early { handOff(failure == nil ? claimed : []) }
        if let failure { throw failure }
    }

    /// The fresh deliveries `claim` takes: pending and due now (a follow-up due later waits
    /// in the table), as it admits them within each channel's room, critical first, at most
    /// `claim.limit`; as they will be once recorded, in flight under its lease.
    static func freshClaims(_ deliveries: [RoutedDelivery], claim: ClaimRequest, now: Timestamp) -> [DeliveryRecord] {
        // Swift's sort is stable: within a severity, routing order stays.
        let ordered = deliveries.filter { $0.initialState == .pending && firstDue(of: $0, now: now.milliseconds) <= now.milliseconds }
            .sorted { $0.severity.rank > $1.severity.rank }
        return claim.selecting(ordered, channelID: \.channelID, severity: \.severity).map { d in
            DeliveryRecord(
                id: deliveryID(of: d), alertID: d.alertID, alertOffset: d.alertOffset, subscriberID: d.subscriberID, channelID: d.channelID,
                channelType: d.channelType, reason: d.reason, clearance: d.clearance, severity: d.severity, state: .inFlight, attempts: 1,
                nextAttemptAt: Timestamp(milliseconds: firstDue(of: d, now: now.milliseconds)), lastError: nil, createdAt: now, updatedAt: now,
                followUp: d.followUp)
        }
    }

    /// Inserts the routed deliveries (an existing one is left alone) and moves `consumer`, if
    /// any, to `offset`; those in `claimed` go in as in flight, leased until `leaseUntil`.
    private static func insert(
        _ deliveries: [RoutedDelivery], through offset: LogOffset?, consumer: String?, now: Int64, into db: SQLiteConnection,
        claimed: Set<String> = [], leaseUntil: Int64 = 0
    ) throws {
        for d in deliveries {
            let id = Self.deliveryID(of: d)
            let taken = claimed.contains(id)
            try db.run(
                """
                INSERT INTO deliveries(id, alert_id, alert_offset, subscriber_id, channel_id, channel_type, reason, clearance,
                    severity_rank, state, next_attempt_at, created_at, updated_at, attempts, lease_until, first_attempt_at, follow_up)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING
                """,
                [
                    .text(id), .text(d.alertID), .integer(d.alertOffset), .text(d.subscriberID), .text(d.channelID),
                    .text(d.channelType.rawValue), .text(d.reason.rawValue), .text(d.clearance.rawValue),
                    .integer(Int64(d.severity.rank)), .text(taken ? DeliveryState.inFlight.rawValue : d.initialState.rawValue),
                    d.initialState == .pending ? .integer(Self.firstDue(of: d, now: now)) : .null, .integer(now), .integer(now),
                    .integer(taken ? 1 : 0), taken ? .integer(leaseUntil) : .null, taken ? .integer(now) : .null,
                    d.followUp.map { .text($0.rawValue) } ?? .null,
                ])
        }
        guard let consumer, let offset else { return }
        try db.run(
            "INSERT INTO consumer_positions(consumer, log_offset) VALUES (?, ?) ON CONFLICT(consumer) DO UPDATE SET log_offset = MAX(log_offset, excluded.log_offset)",
            [.text(consumer), .integer(offset)])
    }

    /// Replayed deliveries sort below every live one in `claimDue` by carrying their
    /// severity rank minus this.
    static let replayRankOffset: Int64 = 10

    /// The `severity_rank` values in the order claims take them: live alerts by severity,
    /// critical first, then replays the same way.
    static let claimOrder: [Int64] = Severity.allCases.reversed().map { Int64($0.rank) } + Severity.allCases.reversed().map { Int64($0.rank) - replayRankOffset }

    public func recordReplay(_ deliveries: [RoutedDelivery], replayID: String) throws -> Int {
        let now = Timestamp.now().milliseconds
        return try database.writeAndWait { transaction in
            var queued = 0
            for d in deliveries {
                queued += try transaction.connection.run(
                    """
                    INSERT INTO deliveries(id, alert_id, alert_offset, subscriber_id, channel_id, channel_type, reason, clearance,
                        severity_rank, state, next_attempt_at, created_at, updated_at, replay_id, follow_up)
                    VALUES (?, ?, ?, ?, ?, ?, 'replay', ?, ?, 'pending', ?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET state = 'pending', reason = 'replay', replay_id = excluded.replay_id,
                        clearance = excluded.clearance, severity_rank = excluded.severity_rank, attempts = 0,
                        first_attempt_at = NULL, lease_until = NULL, last_error = NULL,
                        next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at
                    WHERE deliveries.state != 'in_flight'
                    """,
                    [
                        .text(Self.deliveryID(of: d)),
                        .text(d.alertID), .integer(d.alertOffset), .text(d.subscriberID), .text(d.channelID),
                        .text(d.channelType.rawValue), .text(d.clearance.rawValue),
                        .integer(Int64(d.severity.rank) - Self.replayRankOffset), .integer(now), .integer(now), .integer(now), .text(replayID),
                        d.followUp.map { .text($0.rawValue) } ?? .null,
                    ])
            }
            return queued
        }
    }

    public func position(of consumer: String) throws -> LogOffset {
        try database.read { try $0.connection.query("SELECT log_offset FROM consumer_positions WHERE consumer = ?", [.text(consumer)]).first?.int(0) ?? 0 }
    }

    public func deliveries(ofAlert id: String) throws -> [DeliveryRecord] {
        try database.read { transaction in
            try transaction.connection.query("SELECT \(Self.columns) FROM deliveries WHERE alert_id = ? ORDER BY subscriber_id, channel_id", [.text(id)]).map(Self.record)
        }
    }

    public func alertIDs(routedTo subscriberID: String, limit: Int) throws -> [String] {
        guard limit > 0 else { return [] }
        // Pages down `deliveries_subscriber` newest first: an alert has a delivery per
        // channel and follow-up, so a page of rows may name fewer alerts than asked for.
        return try database.read { transaction in
            var ids: [String] = []
            var seen: Set<String> = []
            var below = Int64.max
            let page = min(max(limit * 4, 64), 4096)
            while ids.count < limit {
                let rows = try transaction.connection.query(
                    """
                    SELECT alert_id, alert_offset, state FROM deliveries INDEXED BY deliveries_subscriber
                    WHERE subscriber_id = ? AND alert_offset < ? ORDER BY alert_offset DESC LIMIT ?
                    """,
                    [.text(subscriberID), .integer(below), .integer(Int64(page))])
                for row in rows {
                    guard let id = row.text(0), let offset = row.int(1) else { continue }
                    below = offset
                    if row.text(2) != DeliveryState.skipped.rawValue, seen.insert(id).inserted { ids.append(id) }
                }
                // The last alert's rows may straddle pages: finish it before moving below it.
                if rows.count < page { break }
                if let last = rows.last?.int(1) {
                    for row in try transaction.connection.query(
                        "SELECT alert_id, state FROM deliveries WHERE subscriber_id = ? AND alert_offset = ?", [.text(subscriberID), .integer(last)])
                    where row.text(1) != DeliveryState.skipped.rawValue {
                        if let id = row.text(0), seen.insert(id).inserted { ids.append(id) }
                    }
                }
            }
            return Array(ids.prefix(limit))
        }
    }

    public func recipients(ofAlerts ids: [String]) throws -> Set<String> {
        try database.read { transaction in
            var found: Set<String> = []
            for start in stride(from: 0, to: ids.count, by: 500) {
                let chunk = ids[start..<min(ids.count, start + 500)]
                let placeholders = chunk.map { _ in "?" }.joined(separator: ",")
                for row in try transaction.connection.query(
                    "SELECT DISTINCT subscriber_id FROM deliveries WHERE alert_id IN (\(placeholders)) AND state != 'skipped' AND \(Self.notDigest)",
                    chunk.map { .text($0) })
                {
                    if let id = row.text(0) { found.insert(id) }
                }
            }
            return found
        }
    }

    public func claimDue(_ claim: ClaimRequest, now: Timestamp) throws -> [DeliveryRecord] {
        // Answered before its commit: a send need not wait for the claim's fsync. A claim
        // lost in a crash leaves the delivery pending, so it is sent again (at least once).
        // Channels whose breaker opened or moved its next trial since the last claim, or
        // whose backlog was last moved a second ago (what routing added to it meanwhile).
        let toMove = heldMoved.withLock { moved in
            moved = moved.filter { claim.heldChannels[$0.key] != nil }
            return claim.heldChannels.filter { channel, until in
                guard until.milliseconds > now.milliseconds else { return false }
                guard let last = moved[channel] else { return true }
                return last.until != until || now.milliseconds - last.at.milliseconds >= 1000
            }
        }
        let records = try database.writeAndWait(answeringBeforeCommit: true) { transaction in
            try Self.moveBacklogs(of: toMove, now: now, in: transaction.connection)
            return try Self.claim(claim, now: now, in: transaction.connection)
        }
        heldMoved.withLock { moved in
            for (channel, until) in toMove { moved[channel] = (until, now) }
        }
        return records
    }

    /// Moves the waiting deliveries of channels behind an open breaker, other than critical
    /// ones, to the breaker's next trial. Left due, every claim walked past all of them (a
    /// dead desk's backlog of tens of thousands made each claim cost tens of milliseconds on
    /// the writer), and the next due time stayed in the past, so the pool woke at once. This
    /// walks the waiting deliveries once per breaker change and at most once a second, not
    /// at every claim.
    private static func moveBacklogs(of held: [String: Timestamp], now: Timestamp, in db: SQLiteConnection) throws {
        for (channel, until) in held {
            try db.run(
                "UPDATE deliveries SET next_attempt_at = ?, updated_at = ? WHERE state IN ('pending', 'failed') AND next_attempt_at < ? AND severity_rank < ? AND channel_id = ?",
                [.integer(until.milliseconds), .integer(now.milliseconds), .integer(until.milliseconds), .integer(Int64(Severity.critical.rank)), .text(channel)])
        }
    }

    /// Marks up to `claim.limit` due deliveries `in_flight` under a lease and returns them,
    /// critical first, then by due time, at most each channel's room.
    private static func claim(_ claim: ClaimRequest, now: Timestamp, in db: SQLiteConnection) throws -> [DeliveryRecord] {
        guard claim.limit > 0 else { return [] }
        let t = now.milliseconds
        var records: [DeliveryRecord] = []
        // What is left to take: fewer slots and less room on a channel with each delivery
        // taken. Held channels are the queries' business: they skip them for all but critical
        // work, and not at all for expired leases.
        var left = ClaimRequest(
            limit: claim.limit, leaseMilliseconds: claim.leaseMilliseconds, perChannel: claim.perChannel, windows: claim.windows, inFlight: claim.inFlight,
            onlyChannels: claim.onlyChannels)
        /// Takes what `query` (asked for the slots left, skipping the channels it is given)
        /// returns, within each channel's room. A channel that runs out of room is skipped and
        /// the query asked again, so a desk with thousands of due retries fills its room and
        /// no more.
        func take(skippingHeld: Bool, _ query: ([String], Int) throws -> [DeliveryRecord]) throws {
            while left.limit > 0 {
                let full = left.excludedChannels
                let skipped = Array(full) + (skippingHeld ? claim.heldChannels.keys.filter { !full.contains($0) } : [])
                let asked = left.limit
                let found = try query(skipped, asked)
                let picked = left.selecting(found, channelID: \.channelID, severity: \.severity)
                for record in picked {
                    try db.run(
                        "UPDATE deliveries SET state = 'in_flight', lease_until = ?, attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, ?), updated_at = ? WHERE id = ?",
                        [.integer(DeliveryArithmetic.sum(t, claim.leaseMilliseconds)), .integer(t), .integer(t), .text(record.id)])
                    var taken = record
                    taken.state = .inFlight
                    taken.attempts = DeliveryArithmetic.incremented(taken.attempts)
                    records.append(taken)
                }
                left = left.taking(picked.map(\.channelID))
                // Fewer than asked: nothing more is due here. All of them taken: the claim is
                // full. Some passed over: ask again without the channels that filled up.
                guard found.count == asked, picked.count < found.count, left.excludedChannels.count > full.count else { return }
            }
        }
        /// ` AND channel_id [NOT] IN (?, …)` for `channels`, or nothing when there are none.
        func channelFilter(_ channels: [String], not: Bool) -> String {
            channels.isEmpty ? "" : " AND channel_id \(not ? "NOT " : "")IN (" + channels.map { _ in "?" }.joined(separator: ",") + ")"
        }
        func skipping(_ channels: [String]) -> String { channelFilter(channels, not: true) }
        let only = claim.onlyChannels.map { Array($0) } ?? []
        let restricted = channelFilter(only, not: false)
        // Due work by priority: critical first, then by due time, live before replays. One
        // rank at a time, so the index serves `next_attempt_at <= now` as a range: asked for
        // all ranks at once, it walked every waiting retry, due or not.
        for rank in Self.claimOrder where left.limit > 0 {
            for state in ["pending", "failed"] where left.limit > 0 {
                try take(skippingHeld: rank != Int64(Severity.critical.rank)) { skipped, asked in
                    try db.query(
                        "SELECT \(Self.columns) FROM deliveries WHERE state = ? AND severity_rank = ? AND next_attempt_at <= ?\(restricted)\(skipping(skipped)) ORDER BY next_attempt_at LIMIT ?",
                        [.text(state), .integer(rank), .integer(t)] + only.map { .text($0) } + skipped.map { .text($0) } + [.integer(Int64(asked))]
                    ).map(Self.record)
                }
            }
        }
        // Work whose worker died holding the lease.
        try take(skippingHeld: false) { skipped, asked in
            try db.query(
                "SELECT \(Self.columns) FROM deliveries WHERE state = 'in_flight' AND lease_until <= ?\(restricted)\(skipping(skipped)) ORDER BY severity_rank DESC LIMIT ?",
                [.integer(t)] + only.map { .text($0) } + skipped.map { .text($0) } + [.integer(Int64(asked))]
            ).map(Self.record)
        }
        records.sort { ($0.severity.rank, -($0.nextAttemptAt?.milliseconds ?? 0)) > ($1.severity.rank, -($1.nextAttemptAt?.milliseconds ?? 0)) }
        return records
    }

    public func complete(
        _ id: String, outcome: DeliveryOutcome, settling gathered: [String], at now: Timestamp, completion: @escaping @Sendable (Error?) -> Void
    ) {
        let t = now.milliseconds
        // Lost in a power cut, an outcome leaves the delivery in flight: it is sent again.
        database.write(durable: false, { transaction in
            let db = transaction.connection
            switch outcome {
            case .delivered:
                try db.run("UPDATE deliveries SET state = 'delivered', lease_until = NULL, next_attempt_at = NULL, last_error = NULL, updated_at = ? WHERE id = ?", [.integer(t), .text(id)])
                for member in gathered {
                    try db.run(
                        "UPDATE deliveries SET state = 'delivered', next_attempt_at = NULL, last_error = NULL, updated_at = ? WHERE id = ? AND state IN ('pending', 'failed')",
                        [.integer(t), .text(member)])
                }
            case .retry(let at, let error):
                try db.run("UPDATE deliveries SET state = 'failed', lease_until = NULL, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?", [.integer(at.milliseconds), .text(error), .integer(t), .text(id)])
            case .dead(let error):
                try db.run("UPDATE deliveries SET state = 'dead', lease_until = NULL, next_attempt_at = NULL, last_error = ?, updated_at = ? WHERE id = ?", [.text(error), .integer(t), .text(id)])
            case .cancelled(let reason):
                try db.run("UPDATE deliveries SET state = 'cancelled', lease_until = NULL, next_attempt_at = NULL, last_error = ?, updated_at = ? WHERE id = ?", [.text(reason), .integer(t), .text(id)])
            }
        }) { result in
            if case .failure(let error) = result { completion(error) } else { completion(nil) }
        }
    }

    /// Puts every delivery left `in_flight` back to `pending`, due now; returns how many.
    /// For start-up on the embedded backend, where this process is the only worker: a claim
    /// still in the file was left by a run that ended (killed mid-send), and waiting out its
    /// lease would only delay the send again.
    public func releaseAbandonedClaims(at now: Timestamp) throws -> Int {
        try database.writeAndWait { transaction in
            try transaction.connection.run(
                "UPDATE deliveries SET state = 'pending', lease_until = NULL, next_attempt_at = ?, updated_at = ? WHERE state = 'in_flight'",
                [.integer(now.milliseconds), .integer(now.milliseconds)])
        }
    }

    public func gathered(into digest: DeliveryRecord) throws -> [DeliveryRecord] {
        guard case .digest(let window) = digest.followUp else { return [] }
        return try database.read { transaction in
            try transaction.connection.query(
                "SELECT \(Self.columns) FROM deliveries INDEXED BY deliveries_gathered WHERE subscriber_id = ? AND channel_id = ? AND follow_up = ? AND state IN ('pending', 'failed')",
                [.text(digest.subscriberID), .text(digest.channelID), .text(FollowUp.gathered(window: window.start).rawValue)]
            ).map(Self.record).filter { $0.isGathered(into: digest) }
        }
    }

    public func firstAttempt(of id: String) throws -> Timestamp? {
        try database.read { try $0.connection.query("SELECT first_attempt_at FROM deliveries WHERE id = ?", [.text(id)]).first?.int(0).map { Timestamp(milliseconds: $0) } }
    }

    /// The earliest due time, one index probe per state and rank: asked across states and
    /// ranks at once, SQLite walked every waiting delivery (8 ms with 50,000 of them).
    private static let nextDueQuery = "SELECT MIN(t) FROM ("
        + ["pending", "failed"].flatMap { state in
            claimOrder.map { "SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE state = '\(state)' AND severity_rank = \($0)" }
        }.joined(separator: " UNION ALL ")
        + " UNION ALL SELECT MIN(lease_until) FROM deliveries WHERE state = 'in_flight')"

    public func nextDueTime() throws -> Timestamp? {
        // Read on the writer, after every queued job: claims answer before their commit, so a
        // reader could still see a claimed delivery as due, or a retried one as in flight
        // under its lease, and put the next wake-up a minute late.
        try database.writeAndWait(answeringBeforeCommit: true) { transaction in
            let row = try transaction.connection.query(Self.nextDueQuery).first
            return row?.int(0).map { Timestamp(milliseconds: $0) }
        }
    }

    public func deadLetters(limit: Int) throws -> [DeliveryRecord] {
        try database.read { transaction in
            try transaction.connection.query("SELECT \(Self.columns) FROM deliveries WHERE state = 'dead' ORDER BY updated_at DESC LIMIT ?", [.integer(Int64(limit))]).map(Self.record)
        }
    }

    public func retryDead(_ id: String, at now: Timestamp) throws -> Bool {
        try database.writeAndWait { transaction in
            try transaction.connection.run(
                "UPDATE deliveries SET state = 'pending', next_attempt_at = ?, first_attempt_at = NULL, updated_at = ? WHERE id = ? AND state = 'dead'",
                [.integer(now.milliseconds), .integer(now.milliseconds), .text(id)]) > 0
        }
    }

    /// How many deliveries are in each state, for metrics and tests.
    public func countsByState() throws -> [DeliveryState: Int] {
        try database.read { transaction in
            var counts: [DeliveryState: Int] = [:]
            for row in try transaction.connection.query("SELECT state, COUNT(*) FROM deliveries GROUP BY state") {
                if let state = row.text(0).flatMap(DeliveryState.init(rawValue:)) { counts[state] = Int(row.int(1) ?? 0) }
            }
            return counts
        }
    }

    /// The SQL condition of a delivery that is not part of a digest (`FollowUp.isDigest`).
    static let notDigest = "(follow_up IS NULL OR (follow_up NOT LIKE 'gathered:%' AND follow_up NOT LIKE 'digest:%'))"

    static let columns = "id, alert_id, alert_offset, subscriber_id, channel_id, channel_type, reason, clearance, severity_rank, state, attempts, next_attempt_at, last_error, created_at, updated_at, replay_id, follow_up"

    static func record(_ row: SQLiteRow) -> DeliveryRecord {
        DeliveryRecord(
            id: row.text(0) ?? "", alertID: row.text(1) ?? "", alertOffset: row.int(2) ?? 0, subscriberID: row.text(3) ?? "",
            channelID: row.text(4) ?? "", channelType: Channel.Kind(rawValue: row.text(5) ?? "") ?? .webhook,
            reason: RoutingReason(rawValue: row.text(6) ?? "") ?? .matched,
            clearance: Confidentiality(rawValue: row.text(7) ?? "") ?? .public,
            severity: Severity.allCases.first { $0.rank == Int((row.int(8) ?? 0) + ((row.int(8) ?? 0) < 0 ? replayRankOffset : 0)) } ?? .low,
            state: DeliveryState(rawValue: row.text(9) ?? "") ?? .pending, attempts: Int(row.int(10) ?? 0),
            nextAttemptAt: row.int(11).map { Timestamp(milliseconds: $0) }, lastError: row.text(12),
            createdAt: Timestamp(milliseconds: row.int(13) ?? 0), updatedAt: Timestamp(milliseconds: row.int(14) ?? 0),
            replayID: row.text(15), followUp: row.text(16).flatMap(FollowUp.init(rawValue:)))
    }
}
