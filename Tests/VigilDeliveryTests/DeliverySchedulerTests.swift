import Testing
import VigilCore
@testable import VigilDelivery

/// The delivery scheduler's transitions, event by event, in the style of async-http-client's
/// `HTTPConnectionPool+HTTP1StateTests`: no queue, no clock, no threads.
@Suite struct DeliverySchedulerTests {
    typealias Action = DeliveryScheduler.Action
    static let t0 = Timestamp(milliseconds: 1_795_338_843_000)

    static func delivery(_ n: Int, channel: String = "ch_a", type: Channel.Kind = .webhook) -> DeliveryRecord {
        DeliveryRecord(
            id: "dlv_\(n)", alertID: "alert", alertOffset: 1, subscriberID: "sub", channelID: channel, channelType: type, reason: .matched,
            clearance: .public, severity: .high, state: .inFlight, attempts: 1, nextAttemptAt: nil, lastError: nil, createdAt: t0, updatedAt: t0)
    }

    /// The deliveries of the `.send` actions, with their slots.
    static func sends(_ actions: [Action]) -> [(String, Int)] {
        actions.compactMap { if case .send(let delivery, let slot) = $0 { (delivery.id, slot) } else { nil } }
    }

    static func claims(_ actions: [Action]) -> [DeliveryScheduler.Claim] {
        actions.compactMap { if case .claim(let claim) = $0 { claim } else { nil } }
    }

    @Test func startingClaimsEveryFreeSlotAndSetsThemAside() {
        var scheduler = DeliveryScheduler(maxConcurrent: 4, perChannel: 2)
        #expect(scheduler.start() == [.claim(.init(limit: 4, inFlight: [:], onlyChannels: nil))])
        #expect(scheduler.reserved == 4)
        #expect(scheduler.freeSlotCount == 0)
        #expect(scheduler.claimRunning)
    }

    @Test func aClaimStartsASendPerDeliveryEachInItsOwnSlot() {
        var scheduler = DeliveryScheduler(maxConcurrent: 4, perChannel: 4)
        let claim = Self.claims(scheduler.start())[0]
        let actions = scheduler.claimed((1...4).map { Self.delivery($0) }, for: claim, at: Self.t0)
        let sends = Self.sends(actions)
        #expect(sends.map(\.0) == ["dlv_1", "dlv_2", "dlv_3", "dlv_4"])
        #expect(Set(sends.map(\.1)) == [0, 1, 2, 3])
        #expect(actions.count == 4, "a full claim that filled its slots looks up nothing: more may be due")
        #expect(scheduler.inFlight == 4 && scheduler.reserved == 0 && scheduler.inFlightByChannel == ["ch_a": 4])
        #expect(!scheduler.drained)
    }

    /// A claim takes no more than its slots, whatever the queue answers.
    @Test func aClaimNeverStartsMoreThanItsSlots() {
        var scheduler = DeliveryScheduler(maxConcurrent: 2, perChannel: 4)
        let claim = Self.claims(scheduler.start())[0]
        let actions = scheduler.claimed((1...5).map { Self.delivery($0) }, for: claim, at: Self.t0)
        #expect(Self.sends(actions).count == 2)
        #expect(scheduler.inFlight == 2)
    }

    @Test func theOwnClaimsRunOneAtATimeAndAWantedClaimFollows() {
        var scheduler = DeliveryScheduler(maxConcurrent: 4, perChannel: 4)
        let claim = Self.claims(scheduler.start())[0]
        #expect(scheduler.workReported() == [], "a claim is running")
        #expect(scheduler.timerFired() == [])
        let actions = scheduler.claimed([Self.delivery(1)], for: claim, at: Self.t0)
        #expect(Self.sends(actions).count == 1)
        #expect(actions.contains(.findNextDueTime(claimedAt: Self.t0)))
        #expect(Self.claims(actions) == [.init(limit: 3, inFlight: ["ch_a": 1], onlyChannels: nil)], "the wanted full claim, once")
    }

    /// A finished send refills only at half the slots: a claim is a transaction on the writer.
    @Test func sendsAreRefilledInBatches() {
        var scheduler = DeliveryScheduler(maxConcurrent: 4, perChannel: 4)
        let claim = Self.claims(scheduler.start())[0]
        let slots = Self.sends(scheduler.claimed((1...4).map { Self.delivery($0) }, for: claim, at: Self.t0)).map(\.1)
        #expect(scheduler.sendFinished(slot: slots[0], channelID: "ch_a", retryAt: nil) == [])
        #expect(
            scheduler.sendFinished(slot: slots[1], channelID: "ch_a", retryAt: nil)
                == [.claim(.init(limit: 2, inFlight: ["ch_a": 2], onlyChannels: nil))])
    }

    /// Sends that finish while a refill runs ask for another only if half the slots are
    /// still free once it answers: one claim per batch, not one per completion.
    @Test func sendsFinishedDuringAClaimAreCountedAfterIt() {
        var scheduler = DeliveryScheduler(maxConcurrent: 32, perChannel: 32)
        let first = Self.claims(scheduler.start())[0]
        var slots = Self.sends(scheduler.claimed((1...32).map { Self.delivery($0) }, for: first, at: Self.t0)).map(\.1)
        for _ in 0..<15 { #expect(scheduler.sendFinished(slot: slots.removeLast(), channelID: "ch_a", retryAt: nil) == []) }
        let batch = Self.claims(scheduler.sendFinished(slot: slots.removeLast(), channelID: "ch_a", retryAt: nil))
        #expect(batch == [.init(limit: 16, inFlight: ["ch_a": 16], onlyChannels: nil)])
        #expect(scheduler.sendFinished(slot: slots.removeLast(), channelID: "ch_a", retryAt: nil) == [])
        #expect(scheduler.sendFinished(slot: slots.removeLast(), channelID: "ch_a", retryAt: nil) == [])
        let actions = scheduler.claimed((33...48).map { Self.delivery($0) }, for: batch[0], at: Self.t0)
        #expect(Self.sends(actions).count == 16)
        #expect(Self.claims(actions).isEmpty, "30 in flight: no claim yet")
        #expect(scheduler.inFlight == 30)
    }

    /// After a claim that found less than it had room for, a finished send refills only its
    /// own channel, and only when that channel was at its limit.
    @Test func onceDrainedOnlyAFullChannelIsRefilled() {
        var scheduler = DeliveryScheduler(maxConcurrent: 8, perChannel: 2)
        let claim = Self.claims(scheduler.start())[0]
        let deliveries = [Self.delivery(1, channel: "ch_a"), Self.delivery(2, channel: "ch_a"), Self.delivery(3, channel: "ch_b")]
        let actions = scheduler.claimed(deliveries, for: claim, at: Self.t0)
        #expect(scheduler.drained)
        let slots = Self.sends(actions).map(\.1)
        #expect(scheduler.nextDueTimeFound(nil, claimedAt: Self.t0, now: Self.t0) == [.wake(at: DeliveryArithmetic.time(Self.t0, plus: 60_000))])
        #expect(scheduler.sendFinished(slot: slots[2], channelID: "ch_b", retryAt: nil) == [], "ch_b was not at its limit")
        #expect(
            scheduler.sendFinished(slot: slots[0], channelID: "ch_a", retryAt: nil)
                == [.claim(.init(limit: 7, inFlight: ["ch_a": 1], onlyChannels: ["ch_a"]))])
        // New work ends the drained state: the next completion claims in full again.
        _ = scheduler.claimed([], for: .init(limit: 7, inFlight: ["ch_a": 1], onlyChannels: ["ch_a"]), at: Self.t0)
        _ = scheduler.workReported()
        #expect(!scheduler.drained)
    }

    /// Refills wanted while a claim runs are made together after it.
    @Test func refillsWantedDuringAClaimFollowItTogether() {
        var scheduler = DeliveryScheduler(maxConcurrent: 8, perChannel: 1)
        let first = Self.claims(scheduler.start())[0]
        let slots = Self.sends(scheduler.claimed([Self.delivery(1, channel: "ch_a"), Self.delivery(2, channel: "ch_b")], for: first, at: Self.t0)).map(\.1)
        _ = scheduler.nextDueTimeFound(nil, claimedAt: Self.t0, now: Self.t0)
        let refillA = Self.claims(scheduler.sendFinished(slot: slots[0], channelID: "ch_a", retryAt: nil))[0]
        #expect(scheduler.sendFinished(slot: slots[1], channelID: "ch_b", retryAt: nil) == [], "a claim is running")
        #expect(Self.claims(scheduler.claimed([], for: refillA, at: Self.t0)) == [.init(limit: 8, inFlight: [:], onlyChannels: ["ch_b"])])
    }

    /// A backlog behind one channel (a replay to one desk): sends that finish while that
    /// channel's refill runs count as finished at its limit once the refill answers, so the
    /// channel is refilled again rather than waiting for the timer.
    @Test func aChannelsBacklogKeepsItAtItsLimitWhileRefillsRun() {
        var scheduler = DeliveryScheduler(maxConcurrent: 32, perChannel: 4)
        let first = Self.claims(scheduler.start())[0]
        let slots = Self.sends(scheduler.claimed((1...4).map { Self.delivery($0) }, for: first, at: Self.t0)).map(\.1)
        #expect(scheduler.drained)
        _ = scheduler.nextDueTimeFound(DeliveryArithmetic.time(Self.t0, plus: -1), claimedAt: Self.t0, now: Self.t0)
        let refill = Self.claims(scheduler.sendFinished(slot: slots[0], channelID: "ch_a", retryAt: nil))
        #expect(refill == [.init(limit: 29, inFlight: ["ch_a": 3], onlyChannels: ["ch_a"])])
        for slot in slots.dropFirst() { #expect(scheduler.sendFinished(slot: slot, channelID: "ch_a", retryAt: nil) == []) }
        let actions = scheduler.claimed([Self.delivery(5)], for: refill[0], at: Self.t0)
        #expect(Self.sends(actions).count == 1)
        #expect(Self.claims(actions) == [.init(limit: 31, inFlight: ["ch_a": 1], onlyChannels: ["ch_a"])], "1 + 3 finished meanwhile: it was full")
        // A channel that really ran dry is not claimed for again.
        var dry = DeliveryScheduler(maxConcurrent: 32, perChannel: 4)
        let claim = Self.claims(dry.start())[0]
        let two = Self.sends(dry.claimed([Self.delivery(1, channel: "ch_b"), Self.delivery(2)], for: claim, at: Self.t0)).map(\.1)
        _ = dry.nextDueTimeFound(nil, claimedAt: Self.t0, now: Self.t0)
        #expect(dry.sendFinished(slot: two[0], channelID: "ch_b", retryAt: nil) == [])
        #expect(dry.sendFinished(slot: two[1], channelID: "ch_a", retryAt: nil) == [])
    }

    @Test(arguments: [
        // (due after the claim in ms or nil for none, the lookup's delay in ms, expected wake after the claim in ms)
        (Int64?.some(5000), Int64(10), Int64(5000)),
        (.some(0), 10, 1010),  // due already: look again a second after the lookup
        (.some(-30_000), 10, 1010),
        (.some(3_600_000), 10, 60_000),  // at most a minute ahead
        (nil, 10, 60_000),
    ])
    func aDrainedClaimSetsTheTimerForTheNextDueTime(due: Int64?, lookupDelay: Int64, wakeAfter: Int64) {
        var scheduler = DeliveryScheduler(maxConcurrent: 4, perChannel: 4)
        let claim = Self.claims(scheduler.start())[0]
        #expect(scheduler.claimed([], for: claim, at: Self.t0) == [.findNextDueTime(claimedAt: Self.t0)])
        let actions = scheduler.nextDueTimeFound(
            due.map { DeliveryArithmetic.time(Self.t0, plus: $0) }, claimedAt: Self.t0, now: DeliveryArithmetic.time(Self.t0, plus: lookupDelay))
        #expect(actions == [.wake(at: DeliveryArithmetic.time(Self.t0, plus: wakeAfter))])
        #expect(scheduler.wakeAt == DeliveryArithmetic.time(Self.t0, plus: wakeAfter))
    }

    @Test func aRetryBringsTheTimerForwardAndNeverBack() {
        var scheduler = DeliveryScheduler(maxConcurrent: 4, perChannel: 4)
        let claim = Self.claims(scheduler.start())[0]
        let slots = Self.sends(scheduler.claimed([Self.delivery(1), Self.delivery(2)], for: claim, at: Self.t0)).map(\.1)
        _ = scheduler.nextDueTimeFound(nil, claimedAt: Self.t0, now: Self.t0)
        let soon = DeliveryArithmetic.time(Self.t0, plus: 5000)
        #expect(scheduler.sendFinished(slot: slots[0], channelID: "ch_a", retryAt: soon) == [.wake(at: soon)])
        #expect(scheduler.sendFinished(slot: slots[1], channelID: "ch_a", retryAt: DeliveryArithmetic.time(Self.t0, plus: 9000)) == [])
        #expect(scheduler.wakeAt == soon)
        #expect(scheduler.timerFired() == [.claim(.init(limit: 4, inFlight: [:], onlyChannels: nil))])
        #expect(scheduler.wakeAt == nil)
    }

    /// The lookup runs outside the lock: a retry reported meanwhile may not have reached the
    /// queue when it read its next due time, so the timer keeps the retry's earlier time.
    @Test func aRetryReportedDuringTheLookupIsNotLost() {
        var scheduler = DeliveryScheduler(maxConcurrent: 4, perChannel: 4)
        let claim = Self.claims(scheduler.start())[0]
        let slots = Self.sends(scheduler.claimed([Self.delivery(1)], for: claim, at: Self.t0)).map(\.1)
        let retry = DeliveryArithmetic.time(Self.t0, plus: 2000)
        #expect(scheduler.sendFinished(slot: slots[0], channelID: "ch_a", retryAt: retry) == [.wake(at: retry)])
        #expect(scheduler.nextDueTimeFound(nil, claimedAt: Self.t0, now: Self.t0) == [.wake(at: retry)])
    }

    @Test func aFailedClaimIsTriedAgainInASecond() {
        var scheduler = DeliveryScheduler(maxConcurrent: 4, perChannel: 4)
        let claim = Self.claims(scheduler.start())[0]
        #expect(scheduler.claimFailed(claim, at: Self.t0) == [.wake(at: DeliveryArithmetic.time(Self.t0, plus: 1000))])
        #expect(scheduler.reserved == 0 && !scheduler.claimRunning)
    }

    /// The router's claim in its transaction gets every free slot; the pool's own claim
    /// waits for the slots it leaves.
    @Test func theRoutersReservationSetsSlotsAside() {
        var scheduler = DeliveryScheduler(maxConcurrent: 4, perChannel: 4)
        let own = Self.claims(scheduler.start())[0]
        _ = scheduler.claimed([Self.delivery(1)], for: own, at: Self.t0)
        _ = scheduler.nextDueTimeFound(nil, claimedAt: Self.t0, now: Self.t0)
        let reservation = scheduler.reserveForRouting()
        #expect(reservation == .init(limit: 3, inFlight: ["ch_a": 1], onlyChannels: nil))
        #expect(scheduler.reserveForRouting() == nil, "no slot left")
        #expect(scheduler.workReported() == [], "no slot left")
        let actions = scheduler.routedClaimAccepted([Self.delivery(2, channel: "ch_b")], limit: 3)
        #expect(Self.sends(actions).map(\.0) == ["dlv_2"])
        #expect(scheduler.inFlight == 2 && scheduler.reserved == 0 && scheduler.freeSlotCount == 2)
    }

    /// Never more sends in flight than slots, and never one slot twice, whatever the order
    /// of claims, reservations and completions.
    @Test func slotsAreNeverOverbookedOrShared() {
        var scheduler = DeliveryScheduler(maxConcurrent: 3, perChannel: 10)
        var generator = SystemRandomNumberGenerator()
        var pending = scheduler.start()
        var busy: [Int: String] = [:]
        var next = 0
        for _ in 0..<2000 {
            var actions: [Action] = []
            if let action = pending.popLast() {
                switch action {
                case .claim(let claim):
                    let count = Int.random(in: 0...claim.limit + 1, using: &generator)
                    actions = scheduler.claimed((0..<count).map { _ in next += 1; return Self.delivery(next) }, for: claim, at: Self.t0)
                case .send(let delivery, let slot):
                    #expect(busy[slot] == nil, "slot \(slot) is taken")
                    busy[slot] = delivery.id
                case .findNextDueTime(let claimedAt):
                    actions = scheduler.nextDueTimeFound(nil, claimedAt: claimedAt, now: claimedAt)
                case .wake, .concludeStop: break
                }
            } else if let slot = busy.keys.randomElement(using: &generator), Bool.random(using: &generator) {
                busy.removeValue(forKey: slot)
                actions = scheduler.sendFinished(slot: slot, channelID: "ch_a", retryAt: nil)
            } else if let reservation = scheduler.reserveForRouting() {
                next += 1
                actions = scheduler.routedClaimAccepted([Self.delivery(next)], limit: reservation.limit)
            } else {
                actions = scheduler.workReported()
            }
            pending += actions
            #expect(scheduler.inFlight <= 3 && scheduler.inFlight + scheduler.reserved <= 3 && scheduler.freeSlotCount >= 0)
        }
    }

    @Test func stopConcludesOnceTheSendsInFlightFinish() {
        var scheduler = DeliveryScheduler(maxConcurrent: 4, perChannel: 4)
        let claim = Self.claims(scheduler.start())[0]
        let slots = Self.sends(scheduler.claimed([Self.delivery(1), Self.delivery(2), Self.delivery(3), Self.delivery(4)], for: claim, at: Self.t0)).map(\.1)
        #expect(scheduler.stop() == [])
        #expect(scheduler.sendFinished(slot: slots[0], channelID: "ch_a", retryAt: nil) == [])
        #expect(scheduler.sendFinished(slot: slots[1], channelID: "ch_a", retryAt: DeliveryArithmetic.time(Self.t0, plus: 10)) == [], "no claim, no timer")
        #expect(scheduler.sendFinished(slot: slots[2], channelID: "ch_a", retryAt: nil) == [])
        #expect(scheduler.sendFinished(slot: slots[3], channelID: "ch_a", retryAt: nil) == [.concludeStop(waiters: 1)])
        #expect(scheduler.workReported() == [] && scheduler.timerFired() == [] && scheduler.reserveForRouting() == nil)
    }

    /// What a claim running at `stop` takes stays leased (it is sent again once the lease
    /// expires); the stop waits for that claim's answer.
    @Test func aClaimAnsweredAfterStopStartsNothing() {
        var scheduler = DeliveryScheduler(maxConcurrent: 4, perChannel: 4)
        let claim = Self.claims(scheduler.start())[0]
        #expect(scheduler.stop() == [])
        #expect(scheduler.claimed([Self.delivery(1)], for: claim, at: Self.t0) == [.concludeStop(waiters: 1)])
        #expect(scheduler.inFlight == 0 && scheduler.reserved == 0)
        var idle = DeliveryScheduler(maxConcurrent: 4, perChannel: 4)
        #expect(idle.stop() == [.concludeStop(waiters: 1)], "nothing running: at once")
        let reservation = DeliveryScheduler.Claim(limit: 0, inFlight: [:], onlyChannels: nil)
        #expect(idle.routedClaimAccepted([Self.delivery(1)], limit: reservation.limit) == [])
    }
}
