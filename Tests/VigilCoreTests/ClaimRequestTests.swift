import Testing
import VigilCore

@Suite struct ClaimRequestTests {
    struct Candidate { let channel: String; let severity: Severity }

    /// Each channel gets at most its room (the limit less its sends in flight), in the order
    /// given, up to the claim's limit; a channel at its limit gets nothing.
    @Test func takesEachChannelsRoomInOrder() {
        let claim = ClaimRequest(limit: 5, leaseMilliseconds: 1000, perChannel: 2, inFlight: ["a": 1, "full": 2])
        let candidates = ["a", "a", "full", "b", "b", "b", "c", "c"].map { Candidate(channel: $0, severity: .high) }
        let taken = claim.selecting(candidates, channelID: \.channel, severity: \.severity).map(\.channel)
        #expect(taken == ["a", "b", "b", "c", "c"])
        #expect(claim.excludedChannels == ["full"])
        let left = claim.taking(["a", "b"])
        #expect(left.limit == 3 && left.room(for: "a") == 0 && left.room(for: "b") == 1 && left.excludedChannels == ["a", "full"])
    }

    /// A held channel gives up only its critical deliveries; a refill takes only its channels.
    @Test func holdsAndRestricts() {
        let held = ClaimRequest(limit: 10, leaseMilliseconds: 1000, heldChannels: ["down": Timestamp(milliseconds: 1)])
        let candidates = [Candidate(channel: "down", severity: .high), Candidate(channel: "down", severity: .critical), Candidate(channel: "up", severity: .low)]
        #expect(held.selecting(candidates, channelID: \.channel, severity: \.severity).map(\.severity) == [.critical, .low])
        let refill = ClaimRequest(limit: 10, leaseMilliseconds: 1000, onlyChannels: ["up"])
        #expect(refill.selecting(candidates, channelID: \.channel, severity: \.severity).map(\.channel) == ["up"])
    }
}
