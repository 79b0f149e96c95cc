/// A delivery as the queue keeps it: what, to whom, and where it is in its life.
public struct DeliveryRecord: Sendable, Equatable {
    /// Stable across retries and replays: a digest of alert, subscriber and channel.
    public let id: String
    public let alertID: String
    public let alertOffset: LogOffset
    public let subscriberID: String
    public let channelID: String
    public let channelType: Channel.Kind
    public let reason: RoutingReason
    /// The subscriber's clearance when routed.
    public let clearance: Confidentiality
    public let severity: Severity
    public var state: DeliveryState
    public var attempts: Int
    public var nextAttemptAt: Timestamp?
    public var lastError: String?
    public let createdAt: Timestamp
    public var updatedAt: Timestamp
    /// The replay that last queued this delivery again, if any; its sends say they are replays.
    public var replayID: String?

    /// A record as read from the queue.
    public init(
        id: String, alertID: String, alertOffset: LogOffset, subscriberID: String, channelID: String, channelType: Channel.Kind,
        reason: RoutingReason, clearance: Confidentiality, severity: Severity, state: DeliveryState, attempts: Int,
        nextAttemptAt: Timestamp?, lastError: String?, createdAt: Timestamp, updatedAt: Timestamp, replayID: String? = nil
    ) {
        self.id = id
        self.alertID = alertID
        self.alertOffset = alertOffset
        self.subscriberID = subscriberID
        self.channelID = channelID
        self.channelType = channelType
        self.reason = reason
        self.clearance = clearance
        self.severity = severity
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.replayID = replayID
    }

    /// `lastError` without what a receiver wrote. Errors recorded before issue 17 ended
    /// with up to 200 characters of the receiver's reply after the status
    /// (`the receiver answered 500: <body>`, `the receiver refused with 400: <body>`); a desk
    /// echoing the payload put a defender's name there. They are shown up to the status.
    /// Errors recorded since never carry a receiver's text.
    public static func withoutReceiverText(_ lastError: String) -> String {
        for marker in ["the receiver answered ", "the receiver refused with "] {
            guard let start = lastError.range(of: marker) else { continue }
            let status = lastError[start.upperBound...].prefix { $0.isASCII && $0.isNumber }
            guard status.count == 3, lastError[status.endIndex...].hasPrefix(": ") else { continue }
            return String(lastError[..<status.endIndex])
        }
        return lastError
    }

    /// The JSON the API shows for this delivery.
    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("alert_id", alertID)
        w.key("attempts")
        w.integer(Int64(attempts))
        w.field("channel_id", channelID)
        w.field("channel_type", channelType.rawValue)
        w.field("created_at", createdAt.description)
        w.field("id", id)
        w.field("last_error", lastError.map(Self.withoutReceiverText))
        w.field("next_attempt_at", nextAttemptAt?.description)
        w.field("reason", reason.rawValue)
        w.field("replay_id", replayID)
        w.field("state", state.rawValue)
        w.field("subscriber_id", subscriberID)
        w.field("updated_at", updatedAt.description)
        w.endObject()
    }
}

/// The durable queue of deliveries (DESIGN §2): the `deliveries` table or Kafka topics.
/// The router writes to it; workers and the status API read from it.
public protocol DeliveryQueue: AnyObject, Sendable {
    /// Records `deliveries` and moves `consumer`'s log position to `offset`, atomically:
    /// after a crash the router either sees both or neither, so it neither loses nor
    /// doubles a routing. Recording a delivery that exists already changes nothing.
    func recordRouting(_ deliveries: [RoutedDelivery], through offset: LogOffset, consumer: String) throws

    /// The last log offset `consumer` routed (0 before the first).
    func position(of consumer: String) throws -> LogOffset

    /// Every delivery of the alert `id`.
    func deliveries(ofAlert id: String) throws -> [DeliveryRecord]

    /// The subscribers that were sent (not merely recorded) any of the alerts `ids`.
    func recipients(ofAlerts ids: [String]) throws -> Set<String>

    /// Queues `deliveries` again for replay `replayID`: an existing delivery (same stable id)
    /// goes back to `pending` with a fresh retry budget, a new one is inserted; either way
    /// it queues below every live delivery. A delivery in flight right now is left to finish.
    /// Returns how many were queued.
    func recordReplay(_ deliveries: [RoutedDelivery], replayID: String) throws -> Int
}

extension DeliveryQueue {
    /// The earlier recipients of `alert`'s case, which an update or cancel reaches even if
    /// their subscriptions changed since; none for a case's first alert. The log says which
    /// alerts belong to the case, so this holds on either backend.
    public func caseRecipients(of alert: Alert, in log: any AlertLog) throws -> Set<String> {
        guard alert.kind != .alert else { return [] }
        let ids = try log.routingViews(matching: AlertQuery(caseID: alert.caseID, limit: 100_000)).map(\.alert.id)
        return try recipients(ofAlerts: ids)
    }
}

/// What became of one attempt, as the worker reports it to the queue.
public enum DeliveryOutcome: Sendable, Equatable {
    /// The receiver took it.
    case delivered
    /// Try again at `retryAt`.
    case retry(at: Timestamp, error: String)
    /// Give up: permanent refusal or budget spent.
    case dead(error: String)
}

/// The workers' side of the delivery queue: claiming due work under a lease, reporting
/// outcomes, and the dead letters.
public protocol DeliveryWorkQueue: DeliveryQueue {
    /// Claims up to `claim.limit` deliveries that are due at `now` — pending, failed and due,
    /// or in flight under a lease that expired (its worker died) — critical alerts first,
    /// as `claim` admits them and within each channel's room; each is marked `in_flight` until
    /// `now + claim.leaseMilliseconds`.
    func claimDue(_ claim: ClaimRequest, now: Timestamp) throws -> [DeliveryRecord]

    /// Records the outcome of the attempt on `id` in the next commit, then calls
    /// `completion` (with the error that stopped it, if any). Workers do not wait for it:
    /// until the commit the delivery stays leased, so nobody else sends it, and a crash
    /// before the commit costs one more send, never a lost one.
    func complete(_ id: String, outcome: DeliveryOutcome, at now: Timestamp, completion: @escaping @Sendable (Error?) -> Void)

    /// When the first attempt of `id` was made, for the retry budget.
    func firstAttempt(of id: String) throws -> Timestamp?

    /// The earliest time a pending or failed delivery becomes due, if any.
    func nextDueTime() throws -> Timestamp?

    /// Dead letters, newest first.
    func deadLetters(limit: Int) throws -> [DeliveryRecord]

    /// Puts a dead delivery back in the queue with a fresh budget; `false` if it is not dead.
    func retryDead(_ id: String, at now: Timestamp) throws -> Bool

    /// How many deliveries are in each state (for the queue-depth and dead-letter metrics).
    func countsByState() throws -> [DeliveryState: Int]

    /// `recordRouting`, with a claim recorded in the same write: `handOff` gets the
    /// deliveries `claim` takes, as early as the queue can give them (the embedded queue:
    /// fresh ones, as soon as the write is queued), so their sends need not wait for the
    /// commit; the call returns once the commit is durable, and throws if it failed. A claim
    /// lost that way leaves its deliveries to be routed and sent again: at least once, never
    /// lost. `handOff` is called exactly once.
    func recordRouting(
        _ deliveries: [RoutedDelivery], through offset: LogOffset, consumer: String, claim: ClaimRequest,
        handOff: @escaping @Sendable ([DeliveryRecord]) -> Void) throws
}

extension DeliveryWorkQueue {
    /// Records, then claims in a transaction of its own: for queues with nothing better.
    public func recordRouting(
        _ deliveries: [RoutedDelivery], through offset: LogOffset, consumer: String, claim: ClaimRequest,
        handOff: @escaping @Sendable ([DeliveryRecord]) -> Void
    ) throws {
        do {
            try recordRouting(deliveries, through: offset, consumer: consumer)
        } catch {
            handOff([])
            throw error
        }
        handOff((try? claimDue(claim, now: Timestamp.now())) ?? [])
    }
}

/// Where the router hands the deliveries it claimed in its own transaction (see
/// `DeliveryWorkQueue.recordRouting(_:through:consumer:claim:handOff:)`): the workers.
public protocol DeliveryHandOff: AnyObject, Sendable {
    /// Sets aside the send slots free now for one claim; `nil` when there are none.
    func reserveForRouting() -> ClaimRequest?
    /// Starts `claimed`, taken under `reservation`, and frees the slots it did not use.
    func accept(_ claimed: [DeliveryRecord], reservedBy reservation: ClaimRequest)
}

/// What a worker pool can take on now, so a claim made elsewhere (in the router's
/// transaction) takes no more than the pool has room for.
public struct ClaimRequest: Sendable, Equatable {
    /// Send slots the pool set aside for this claim.
    public let limit: Int
    /// How long a claimed delivery is the pool's.
    public let leaseMilliseconds: Int64
    /// Sends one channel may have in flight at once: a claim takes no more of a channel's
    /// deliveries than it has room for, so a desk back from an outage with thousands of
    /// retries waiting cannot take every slot.
    public let perChannel: Int
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
        limit: Int, leaseMilliseconds: Int64, perChannel: Int = .max, inFlight: [String: Int] = [:],
        heldChannels: [String: Timestamp] = [:], onlyChannels: Set<String>? = nil
    ) {
        self.limit = limit
        self.leaseMilliseconds = leaseMilliseconds
        self.perChannel = perChannel
        self.inFlight = inFlight
        self.heldChannels = heldChannels
        self.onlyChannels = onlyChannels
    }

    /// Channels at their in-flight limit: none of their deliveries is claimed.
    public var excludedChannels: Set<String> { Set(inFlight.filter { $0.value >= perChannel }.keys) }

    /// How many more sends `channelID` may start.
    public func room(for channelID: String) -> Int { max(0, perChannel - (inFlight[channelID] ?? 0)) }

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
            limit: max(0, limit - channels.count), leaseMilliseconds: leaseMilliseconds, perChannel: perChannel, inFlight: inFlight,
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

/// Who receives, as the workers need to know it: the subscriber and its signing secrets.
public protocol SubscriberDirectory: Sendable {
    /// The subscriber `id` as it is now, or `nil` once deleted.
    func subscriber(id: String) throws -> Subscriber?
    /// The `whsec_` secrets of a webhook channel, current first.
    func secrets(channelID: String) throws -> [String]
    /// Why the channel was disabled (its endpoint answered 410 Gone), or `nil`.
    func disabledReason(channelID: String) throws -> String?
    /// Disables a channel for good; its deliveries go to the dead letters.
    func disable(channelID: String, reason: String) throws
}

/// Saturating arithmetic on delivery times and attempt counts. The operands come from
/// receivers' replies (`Retry-After`), the configuration and records read back from the
/// queue or a topic; none of them may trap the process, so sums stop at the ends of
/// `Int64` instead of overflowing, and a `Double` becomes an `Int64` only within range.
public enum DeliveryArithmetic {
    /// `a + b`, or `Int64.max` / `Int64.min` where it would overflow.
    public static func sum(_ a: Int64, _ b: Int64) -> Int64 {
        let (result, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : result
    }

    /// `a - b`, or `Int64.max` / `Int64.min` where it would overflow.
    public static func difference(_ a: Int64, _ b: Int64) -> Int64 {
        let (result, overflow) = a.subtractingReportingOverflow(b)
        return overflow ? (b < 0 ? .max : .min) : result
    }

    /// `time` moved by `milliseconds`, stopping at the ends of the representable range.
    public static func time(_ time: Timestamp, plus milliseconds: Int64) -> Timestamp {
        Timestamp(milliseconds: sum(time.milliseconds, milliseconds))
    }

    /// `seconds` in whole milliseconds (rounded as `rule` says), clamped to `Int64`'s range;
    /// not a number is 0.
    public static func milliseconds(fromSeconds seconds: Double, rounding rule: FloatingPointRoundingRule = .up) -> Int64 {
        let milliseconds = (seconds * 1000).rounded(rule)
        if milliseconds.isNaN { return 0 }
        if milliseconds >= 9_223_372_036_854_775_807.0 { return .max }  // 2^63 as a Double
        if milliseconds <= -9_223_372_036_854_775_808.0 { return .min }
        return Int64(milliseconds)
    }

    /// One more attempt than `attempts`, stopping at `Int.max`.
    public static func incremented(_ attempts: Int) -> Int { attempts == .max ? .max : attempts + 1 }
}
