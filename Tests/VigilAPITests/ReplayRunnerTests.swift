import Foundation
import Synchronization
import Testing
import VigilCore
import VigilStore
import VigilTestSupport
@testable import VigilAPI

/// The replay runner against the in-memory log and queue: what a selection picks, who it
/// goes to, how deliveries are marked, how a replay is paced and how its progress reads.
@Suite(.timeLimit(.minutes(1))) struct ReplayRunnerTests {
    let fixture: RoutingFixture
    let store: ReplayStore
    /// How many times the runner poked the workers.
    let pokes = Pokes()

    init() throws {
        fixture = try RoutingFixture()
        store = ReplayStore(database: fixture.database)
    }

    func runner(ratePerSecond: Double = 100_000) -> ReplayRunner {
        ReplayRunner(
            log: fixture.log, queue: fixture.queue, subscribers: fixture.subscribers, store: store, ratePerSecond: ratePerSecond,
            metrics: fixture.metrics, logger: fixture.logger, onQueued: { [pokes, store] in pokes.record(try? store.running()) })
    }

    /// Waits for replay `id` to leave `running`, and returns its last record.
    func finished(_ id: String, within seconds: Double = 10) async throws -> ReplayProgress? {
        _ = try await waitUntil(within: seconds) { try store.replay(id: id)?.state != .running }
        return try store.replay(id: id)
    }

    func selection(_ configure: (inout ReplaySelection) -> Void) -> ReplaySelection {
        var selection = ReplaySelection()
        configure(&selection)
        return selection
    }

    /// Offsets, times and countries narrow the selection; every criterion must hold.
    @Test func aDryRunSelectsByOffsetTimeAndCountry() throws {
        try fixture.desk("everyone", follows: ["BY", "CO", "PH"])
        let base: Int64 = 1_795_338_843_000
        let alerts = try ["BY", "CO", "PH", "BY", "CO"].enumerated().map { i, country in
            try fixture.file(country, at: Timestamp(milliseconds: base + Int64(i) * 1000))
        }
        let runner = runner()
        func planned(_ selection: ReplaySelection) throws -> [String] {
            try runner.plan(ReplayRequest(selection: selection, dryRun: true)).deliveries.map(\.alertID)
        }
        #expect(try planned(selection { $0.fromOffset = alerts[1].offset; $0.toOffset = alerts[3].offset }) == alerts[1...3].map(\.alert.id))
        #expect(try planned(selection { $0.since = Timestamp(milliseconds: base + 1000); $0.until = Timestamp(milliseconds: base + 4000) })
            == alerts[1...3].map(\.alert.id))
        #expect(try planned(selection { $0.countries = [CountryCode("BY")!] }) == [alerts[0].alert.id, alerts[3].alert.id])
        #expect(try planned(selection { $0.countries = [CountryCode("BY")!, CountryCode("PH")!] }) == [alerts[0], alerts[2], alerts[3]].map(\.alert.id))
        #expect(try planned(selection { $0.countries = [CountryCode("CO")!]; $0.fromOffset = alerts[2].offset }) == [alerts[4].alert.id])
        let plan = try runner.plan(ReplayRequest(selection: selection { $0.fromOffset = 1 }))
        #expect(plan.scanned == 5 && plan.alerts == 5 && plan.deliveryCount == 5)
        #expect(plan.deliveries.allSatisfy { $0.reason == .replay && $0.initialState == .pending })
        #expect(fixture.queue.all.isEmpty, "a dry run queues nothing")
    }

    /// A replay queues its deliveries again under their stable ids, marked with its id and
    /// reason `replay`, for today's subscribers narrowed to the target; test alerts are
    /// never replayed; its record ends `done` with what it did, and the workers are poked.
    @Test func aReplayQueuesMarkedDeliveriesForTheTargetAndReportsProgress() async throws {
        try fixture.desk("by-desk", follows: ["BY"], channels: 2)
        try fixture.desk("other-desk", follows: ["BY"])
        let live = try fixture.file("BY")
        let test = try fixture.file("BY", status: .test)
        let unmatched = try fixture.file("GT")
        // Live routing recorded the first alert's deliveries; one was delivered since.
        let routed = Router.route(live, index: try fixture.subscribers.index())
        try fixture.queue.recordRouting(routed, through: unmatched.offset, consumer: AlertRouter.consumer)
        let runner = runner()
        let target = ReplayTarget(subscriberID: "by-desk", channelID: "by-desk-hook1")
        let started = try runner.start(ReplayRequest(selection: selection { $0.fromOffset = 1 }, target: target), id: "rpl_one")
        #expect(started.state == .running && started.selection.toOffset == unmatched.offset, "pinned to the log's end")
        let done = try #require(try await finished("rpl_one"))
        #expect(done.state == .done && done.error == nil)
        #expect(done.scanned == 3 && done.alerts == 1 && done.deliveries == 1 && done.cursor == unmatched.offset)
        let deliveries = try fixture.queue.deliveries(ofAlert: live.alert.id)
        let replayed = deliveries.filter { $0.replayID == "rpl_one" }
        #expect(replayed.map(\.channelID) == ["by-desk-hook1"] && replayed.allSatisfy { $0.reason == .replay && $0.state == .pending })
        #expect(deliveries.count == 3, "the replay reused the live delivery's stable id")
        #expect(try fixture.queue.deliveries(ofAlert: test.alert.id).isEmpty, "test alerts are never replayed")
        #expect(pokes.count == 1)
        #expect(fixture.metrics.value("vigil_replay_deliveries_total") == 1)
    }

    /// Alerts appended after a replay started are not swept into it.
    @Test func aReplayIsPinnedToTheLogsEndWhenItStarts() async throws {
        try fixture.desk("by-desk", follows: ["BY"])
        let before = try fixture.file("BY")
        // Slow enough that the later alert is appended before the replay's first step ends.
        let runner = runner(ratePerSecond: 1)
        _ = try runner.start(ReplayRequest(selection: selection { $0.countries = [CountryCode("BY")!] }), id: "rpl_pinned")
        let after = try fixture.file("BY")
        let done = try #require(try await finished("rpl_pinned", within: 10))
        #expect(done.state == .done && done.alerts == 1)
        #expect(try fixture.queue.deliveries(ofAlert: before.alert.id).map(\.replayID) == ["rpl_pinned"])
        #expect(try fixture.queue.deliveries(ofAlert: after.alert.id).isEmpty)
    }

    /// A replay is paced to its rate: after a batch of `n` alerts it pauses `n / rate`
    /// seconds, and its record shows where it stands after each batch.
    @Test func aReplayIsPacedAndItsProgressIsSavedAfterEachBatch() async throws {
        try fixture.desk("by-desk", follows: ["BY"])
        let count = ReplayRunner.batchSize + 20
        let alerts = try (0..<count).map { _ in try fixture.file("BY") }
        let rate = Double(ReplayRunner.batchSize) / 1.0  // a full batch, then a one-second pause
        _ = try runner(ratePerSecond: rate).start(ReplayRequest(selection: selection { $0.fromOffset = 1 }), id: "rpl_paced")
        let done = try #require(try await finished("rpl_paced"))
        #expect(done.state == .done && done.scanned == count && done.deliveries == count && done.cursor == alerts.last?.offset)
        #expect(fixture.queue.all.count == count && fixture.queue.all.allSatisfy { $0.replayID == "rpl_paced" })
        // What the record said as each batch was queued (read when the workers were poked).
        let batches = pokes.snapshots
        #expect(batches.count == 2)
        guard batches.count == 2 else { return }
        let midway = try #require(batches[0].running.first { $0.id == "rpl_paced" })
        #expect(midway.state == .running && midway.scanned == ReplayRunner.batchSize && midway.deliveries == ReplayRunner.batchSize)
        #expect(midway.cursor == alerts[ReplayRunner.batchSize - 1].offset)
        #expect(batches[1].running.first { $0.id == "rpl_paced" }?.scanned == count)
        let pause = batches[1].at.timeIntervalSince(batches[0].at)
        #expect(pause >= 0.9, "the pause after the first batch: \(pause) s")
    }

    /// A queue that refuses the replay's write fails it with the reason; the log is not
    /// read past it.
    @Test func aReplayTheQueueRefusesEndsFailedWithItsReason() async throws {
        try fixture.desk("by-desk", follows: ["BY"])
        try fixture.file("BY")
        fixture.queue.failWrites(with: AlertLogError.unavailable("disk full"))
        _ = try runner().start(ReplayRequest(selection: selection { $0.fromOffset = 1 }), id: "rpl_failed")
        let failed = try #require(try await finished("rpl_failed"))
        #expect(failed.state == .failed && failed.error?.contains("disk full") == true && failed.scanned == 0)
    }

    /// Replays a restart left running resume from their saved cursor.
    @Test func replaysLeftRunningResumeFromTheirCursor() async throws {
        try fixture.desk("by-desk", follows: ["BY"])
        let alerts = try (0..<4).map { _ in try fixture.file("BY") }
        let now = Timestamp.now()
        var selection = selection { $0.fromOffset = 1 }
        selection.toOffset = alerts[3].offset
        try store.save(ReplayProgress(
            id: "rpl_resumed", state: .running, selection: selection, target: ReplayTarget(), cursor: alerts[1].offset, scanned: 2, alerts: 2,
            deliveries: 2, createdAt: now, updatedAt: now))
        try runner().resume()
        let done = try #require(try await finished("rpl_resumed"))
        #expect(done.state == .done && done.scanned == 4 && done.deliveries == 4)
        #expect(try alerts.prefix(2).allSatisfy { try fixture.queue.deliveries(ofAlert: $0.alert.id).isEmpty }, "not resent")
        #expect(try alerts.suffix(2).allSatisfy { try fixture.queue.deliveries(ofAlert: $0.alert.id).map(\.replayID) == ["rpl_resumed"] })
    }
}

/// What the runner's `onQueued` saw: when each batch was queued, with the replays then running.
final class Pokes: Sendable {
    private let seen = Mutex<[(at: Date, running: [ReplayProgress])]>([])

    func record(_ running: [ReplayProgress]?) { seen.withLock { $0.append((Date(), running ?? [])) } }
    var count: Int { seen.withLock { $0.count } }
    var snapshots: [(at: Date, running: [ReplayProgress])] { seen.withLock { $0 } }
}
