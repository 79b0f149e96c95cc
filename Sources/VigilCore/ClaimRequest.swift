/// What a worker pool can take on now, so a claim made elsewhere (in the router's
/// transaction) takes no more than the pool has room for.
public struct ClaimRequest: Sendable, Equatable {
    /// Send slots the pool set aside for this claim.
    public let limit: Int
    /// How long a claimed delivery is the pool's.
    public let leaseMilliseconds: Int64
    /// Sends one channel may have in flight at once, unless `windows` says otherwise for it:
    /// a claim takes no more of a channel's deliveries than it has room for, so a desk back
    /// from an outage with thousands of retries waiting cannot take every slot.
    public let perChannel: Int
    /// Channels whose window the workers opened or closed from `perChannel` as they answered
    /// (issue 22), with the sends each may have in flight.
    public let windows: [String: Int]
    /// Sends in flight now, by channel.
    public let inFlight: [String: Int]
    /// Channels behind an open circuit breaker, each with when its deliveries are worth
    /// claiming again (the breaker's next trial). Their critical deliveries are still claimed:
    /// the worker holds them back and counts the attempt, so the critical fallback email goes
    /// out on time. The others are not, and a queue may move them to that time, so that
    /// claims stop passing over them and the next due time is the trial's.
    public let heldChannels: [String: Timestamp]
    /// When set, only these channels' deliveries are claimed: a refill after a send finished,
    /// once the last claim found nothing else due.
    public let onlyChannels: Set<String>?

    /// A request for up to `limit` deliveries.
    public init(
        limit: Int, leaseMilliseconds: Int64, perChannel: Int = .max, windows: [String: Int] = [:], inFlight: [String: Int] = [:],
        heldChannels: [String: Timestamp] = [:], onlyChannels: Set<String>? = nil
    ) {
        self.limit = limit
        self.leaseMilliseconds = leaseMilliseconds
        self.perChannel = perChannel
        self.windows = windows
        self.inFlight = inFlight
        self.heldChannels = heldChannels
        self.onlyChannels = onlyChannels
    }

    /// Channels at their in-flight limit: none of their deliveries is claimed.
    public var excludedChannels: Set<String> { Set(inFlight.filter { $0.value >= window(of: $0.key) }.keys) }

    /// The sends `channelID` may have in flight.
    public func window(of channelID: String) -> Int { windows[channelID] ?? perChannel }

    /// How many more sends `channelID` may start.
    public func room(for channelID: String) -> Int { max(0, window(of: channelID) - (inFlight[channelID] ?? 0)) }

    /// Whether a due delivery of `channelID` at `severity` may be claimed under this request,
    /// room aside.
    public func admits(channelID: String, severity: Severity) -> Bool {
        (onlyChannels?.contains(channelID) ?? true) && room(for: channelID) > 0
            && (severity == .critical || heldChannels[channelID] == nil)
    }

    /// What is left of this request once deliveries of `channels` (one entry per delivery)
    /// are taken: that many fewer slots, and that much less room on each channel.
    public func taking(_ channels: [String]) -> ClaimRequest {
        var inFlight = self.inFlight
        for channel in channels { inFlight[channel, default: 0] += 1 }
        return ClaimRequest(
            limit: max(0, limit - channels.count), leaseMilliseconds: leaseMilliseconds, perChannel: perChannel, windows: windows, inFlight: inFlight,
            heldChannels: heldChannels, onlyChannels: onlyChannels)
    }

    /// The candidates this request takes, in the order given: admitted, at most each
    /// channel's room and at most `limit` in all.
    public func selecting<Candidate>(
        _ candidates: some Sequence<Candidate>, channelID: (Candidate) -> String, severity: (Candidate) -> Severity
    ) -> [Candidate] {
        var taken: [Candidate] = []
        var takenByChannel: [String: Int] = [:]
        for candidate in candidates where taken.count < limit {
            let channel = channelID(candidate)
            guard admits(channelID: channel, severity: severity(candidate)),
                (takenByChannel[channel] ?? 0) < room(for: channel)
            else { continue }
            takenByChannel[channel, default: 0] += 1
            taken.append(candidate)
        }
        return taken
    }
}
