import Testing
import VigilCore
@testable import VigilDelivery

/// Adaptive per-endpoint windows (issue 22, point 4): the window itself, and the scheduler
/// that keeps one per channel and passes it to claims. No clock, no threads.
@Suite struct EndpointWindowTests {
    typealias Action = DeliveryScheduler.Action

    @Test func aWindowOpensOnlyWhileFullAndQuickThenClosesOnFailuresAndSlowAnswers() {
        var window = EndpointWindow(initial: 4, ceiling: 8)
        #expect(window.limit == 4)
        for _ in 0..<20 { window.record(.fast, inFlight: 1) }
        #expect(window.limit == 4, "a window less than half in use is not opened")
        // One more request per window's worth of quick answers.
        for _ in 0..<4 { window.record(.fast, inFlight: 4) }
        #expect(window.limit == 5)
        for _ in 0..<200 { window.record(.fast, inFlight: 4) }
        #expect(window.limit == 8, "never past the ceiling")
        window.record(.slow, inFlight: 4)
        #expect(window.limit == 7)
        var halvings: [Int] = []
        for _ in 0..<5 {
            window.record(.failed, inFlight: 1)
            halvings.append(window.limit)
        }
        #expect(halvings == [3, 1, 1, 1, 1], "halved on each failure, never below one")
        window.record(.slow, inFlight: 4)
        #expect(window.limit == 1)
    }

    @Test(arguments: [
        (Result<HTTPOutcome, TransportError>.success(HTTPOutcome(status: 204, retryAfterMilliseconds: nil, latencyMilliseconds: 3)), EndpointWindow.Answer?.some(.fast)),
        (.success(HTTPOutcome(status: 200, retryAfterMilliseconds: nil, latencyMilliseconds: 1500)), .some(.slow)),
        (.success(HTTPOutcome(status: 503, retryAfterMilliseconds: nil, latencyMilliseconds: 3)), .some(.failed)),
        (.success(HTTPOutcome(status: 429, retryAfterMilliseconds: 1000, latencyMilliseconds: 3)), .some(.failed)),
        (.success(HTTPOutcome(status: 408, retryAfterMilliseconds: nil, latencyMilliseconds: 3)), .some(.failed)),
        (.failure(.timedOut(afterMilliseconds: 15_000)), .some(.failed)),
        (.success(HTTPOutcome(status: 404, retryAfterMilliseconds: nil, latencyMilliseconds: 3)), nil),
        (.success(HTTPOutcome(status: 410, retryAfterMilliseconds: nil, latencyMilliseconds: 3)), nil),
        (.success(HTTPOutcome(status: 302, retryAfterMilliseconds: nil, latencyMilliseconds: 3)), nil),
    ])
    func answersAreReadFromTheExchange(result: Result<HTTPOutcome, TransportError>, answer: EndpointWindow.Answer?) {
        #expect(EndpointWindow.Answer.of(result, slowMilliseconds: 1000) == answer)
    }

    static func delivery(_ n: Int) -> DeliveryRecord { DeliverySchedulerTests.delivery(n) }

    /// A busy, quick endpoint gets more than four sends at once; the claims carry its window.
    @Test func theSchedulerOpensABusyQuickEndpointsWindowAndClaimsCarryIt() {
        var scheduler = DeliveryScheduler(maxConcurrent: 32, perChannel: 4, windowCeiling: 16)
        var next = 1, slots: [Int] = [], windowsClaimed: [Int] = []
        /// Answers every claim in `actions` as a queue with an endless backlog on one channel
        /// would (as many as the claim's room on it), and keeps the slots of the sends started.
        func perform(_ actions: [Action]) {
            for action in actions {
                switch action {
                case .claim(let claim):
                    let room = ClaimRequest(
                        limit: claim.limit, leaseMilliseconds: 1, perChannel: 4, windows: claim.windows, inFlight: claim.inFlight
                    ).room(for: "ch_a")
                    windowsClaimed.append(claim.windows["ch_a"] ?? 4)
                    let taken = (next..<next + min(room, claim.limit)).map { Self.delivery($0) }
                    next += taken.count
                    perform(scheduler.claimed(taken, for: claim, at: DeliverySchedulerTests.t0))
                case .send(_, let slot): slots.append(slot)
                default: break
                }
            }
        }
        perform(scheduler.start())
        #expect(windowsClaimed == [4], "every channel starts at four")
        // Round after round, the sends in flight answer quickly.
        for _ in 0..<12 {
            let finishing = slots
            slots = []
            for slot in finishing { perform(scheduler.sendFinished(slot: slot, channelID: "ch_a", retryAt: nil, answer: .fast)) }
        }
        #expect(scheduler.window(of: "ch_a") > 4 && (windowsClaimed.max() ?? 0) > 4, "claims carry the opened window: \(windowsClaimed)")
        #expect(scheduler.inFlightByChannel["ch_a"] ?? 0 > 4, "more than four at once to a quick endpoint")
        #expect(scheduler.window(of: "ch_a") <= 16)
        // It starts failing: the window halves at each failure, and claims carry it down.
        let failing = slots, opened = scheduler.window(of: "ch_a")
        slots = []
        windowsClaimed = []
        for slot in failing { perform(scheduler.sendFinished(slot: slot, channelID: "ch_a", retryAt: nil, answer: .failed)) }
        #expect(scheduler.window(of: "ch_a") == 1)
        #expect(windowsClaimed.allSatisfy { $0 < opened } && windowsClaimed == windowsClaimed.sorted(by: >), "\(windowsClaimed)")
    }

    /// A window back at where channels start is forgotten, so claims carry only the channels that differ.
    @Test func aWindowBackAtItsStartIsForgotten() {
        var scheduler = DeliveryScheduler(maxConcurrent: 8, perChannel: 2, windowCeiling: 8)
        let claim = DeliverySchedulerTests.claims(scheduler.start())[0]
        let slots = DeliverySchedulerTests.sends(scheduler.claimed([Self.delivery(1), Self.delivery(2)], for: claim, at: DeliverySchedulerTests.t0)).map(\.1)
        _ = scheduler.sendFinished(slot: slots[0], channelID: "ch_a", retryAt: nil, answer: .failed)
        #expect(scheduler.window(of: "ch_a") == 1 && scheduler.windows["ch_a"] != nil)
        _ = scheduler.sendFinished(slot: slots[1], channelID: "ch_a", retryAt: nil, answer: nil)
        #expect(scheduler.window(of: "ch_a") == 1, "a send that says nothing changes nothing")
        var b = DeliveryScheduler(maxConcurrent: 8, perChannel: 4, windowCeiling: 8)
        let bClaim = DeliverySchedulerTests.claims(b.start())[0]
        let bSlots = DeliverySchedulerTests.sends(b.claimed([Self.delivery(1)], for: bClaim, at: DeliverySchedulerTests.t0)).map(\.1)
        _ = b.sendFinished(slot: bSlots[0], channelID: "ch_a", retryAt: nil, answer: .fast)
        #expect(b.windows.isEmpty, "a quick answer from a window less than half in use leaves it where it started")
    }
}
