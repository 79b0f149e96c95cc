import VigilCore

/// When the delivery workers claim, send and wake (DESIGN §7), as a state machine: each
/// event (work reported, a claim's answer, a send finished, the timer, stop) changes the
/// state and returns the actions to take. It does no I/O and reads no clock: the pool
/// (`DeliveryWorkerPool`) keeps it under one lock, feeds it events and performs the actions
/// after letting the lock go (async-http-client's connection pool has the same shape).
///
/// The rules it keeps:
/// - sends in flight are bounded overall (`maxConcurrent`, one slot each) and per channel
///   (a window per channel, enforced by the claims, which see the channels' counts and
///   windows): `perChannel` at first, then opening up to `windowCeiling` while the endpoint
///   answers quickly with its window in use and closing when it fails or slows
///   (`EndpointWindow`);
/// - slots for a claim are set aside before it runs, whether the pool claims on its own or
///   the router claims in its transaction, so two claims never take the same slot;
/// - the pool's own claims run one at a time; a claim wanted while one runs is made after it;
/// - refills come in batches: a full claim when half the slots are free, unless the last
///   full claim found less due work than it had room for (`drained`); then a finished send
///   refills only its own channel, and only when that channel was at its limit, until new
///   work is reported or the timer fires;
/// - the timer is set for the next due time after a drained claim (at most a minute ahead,
///   a second when due work waits behind full channels or a breaker), a second after a
///   failed claim, and brought forward to each retry's time;
/// - after `stop`, nothing more starts; the stop is concluded once the sends, the claim and
///   the due-time lookup that were running have finished.
struct DeliveryScheduler: Sendable {
    /// A claim of due deliveries for slots set aside.
    struct Claim: Sendable, Equatable {
        /// Slots set aside for it: the most it may take.
        var limit: Int
        /// Sends in flight by channel when it was made.
        var inFlight: [String: Int]
        /// Only these channels' deliveries (a refill), or `nil` for any due delivery.
        var onlyChannels: Set<String>?
        /// The windows of channels whose window is not `perChannel` any more.
        var windows: [String: Int] = [:]

        /// Whether it is a full claim rather than a refill of some channels.
        var isFull: Bool { onlyChannels == nil }
    }

    /// What the pool does after an event, outside the lock.
    enum Action: Sendable, Equatable {
        /// Claim due deliveries from the queue under `claim`, then report `claimed` or
        /// `claimFailed`.
        case claim(Claim)
        /// Start sending `delivery` in send slot `slot`; report `sendFinished` when its
        /// outcome is handed to the queue.
        case send(DeliveryRecord, slot: Int)
        /// Ask the queue for its next due time, then report `nextDueTimeFound`; `claimedAt`
        /// is the time of the claim that asked.
        case findNextDueTime(claimedAt: Timestamp)
        /// Set the timer to fire at `at`.
        case wake(at: Timestamp)
        /// Tell `waiters` callers of `stop` that nothing is running any more.
        case concludeStop(waiters: Int)
    }

    /// Sends in flight at once, over all channels.
    let maxConcurrent: Int
    /// Sends in flight at once to one channel, at first.
    let perChannel: Int
    /// The most a channel's window opens to.
    let windowCeiling: Int
    /// The windows of channels that answered since they were at `perChannel` (others are at it).
    private(set) var windows: [String: EndpointWindow] = [:]

    /// Whether the pool claims and starts sends.
    private(set) var running = false
    /// Send slots not in use (an email send keeps a serial queue per slot).
    private var freeSlots: [Int]
    /// Sends in flight.
    private(set) var inFlight = 0
    /// Sends in flight by channel (channels with none are absent).
    private(set) var inFlightByChannel: [String: Int] = [:]
    /// Slots set aside for claims not yet answered.
    private(set) var reserved = 0
    /// Whether the pool's own claim is running.
    private(set) var claimRunning = false
    /// Sends finished, by channel, while a claim ran: what they ask for (a refill) depends on
    /// what the claim takes, so it is decided when the claim answers, as if it had answered
    /// before they finished.
    private var finishedDuringClaim: [String: Int] = [:]
    /// A full claim wanted while a claim ran.
    private var fullClaimWanted = false
    /// Channels whose refill was wanted while a claim ran.
    private var refillsWanted: Set<String> = []
    /// Whether the last full claim found less due work than it had room for.
    private(set) var drained = false
    /// When the timer fires next.
    private(set) var wakeAt: Timestamp?
    /// Due-time lookups asked for and not yet reported.
    private var lookupsRunning = 0
    /// The earliest retry time reported while a lookup ran: the lookup's answer may have
    /// been read before that retry reached the queue, so the timer keeps the earlier time.
    private var earliestRetryDuringLookup: Timestamp?
    /// Callers of `stop` waiting for the sends in flight.
    private var stopWaiters = 0

    /// A scheduler with `maxConcurrent` send slots (at least one), stopped; channels start at
    /// `perChannel` sends in flight and open up to `windowCeiling` (by default they stay at it,
    /// closing only on failures and slow answers).
    init(maxConcurrent: Int, perChannel: Int, windowCeiling: Int? = nil) {
        self.maxConcurrent = maxConcurrent
        self.perChannel = perChannel
        self.windowCeiling = max(perChannel, windowCeiling ?? perChannel)
        freeSlots = Array(0..<max(1, maxConcurrent))
    }

    /// The sends `channelID` may have in flight now.
    func window(of channelID: String) -> Int { windows[channelID]?.limit ?? perChannel }

    /// The windows a claim carries: those not at `perChannel`.
    private var claimWindows: [String: Int] {
        windows.isEmpty ? [:] : windows.compactMapValues { $0.limit == perChannel ? nil : $0.limit }
    }

    /// Send slots neither busy nor set aside.
    var freeSlotCount: Int { min(maxConcurrent - inFlight, freeSlots.count) - reserved }

    // MARK: Events

    /// The pool started: claim what is due (deliveries under an expired lease included).
    mutating func start() -> [Action] {
        running = true
        return workReported()
    }

    /// New work was reported (the router recorded deliveries, a replay queued some): claim
    /// in full, now or at the next completions.
    mutating func workReported() -> [Action] {
        drained = false
        return requestClaim(only: nil)
    }

    /// The timer reached the time it was set for: claim in full.
    mutating func timerFired() -> [Action] {
        wakeAt = nil
        drained = false
        return requestClaim(only: nil)
    }

    /// The router wants to claim in its own transaction: sets aside every free slot for it,
    /// or returns `nil` when there is none (or the pool is stopped).
    mutating func reserveForRouting() -> Claim? {
        guard running else { return nil }
        let free = freeSlotCount
        guard free > 0 else { return nil }
        reserved += free
        return Claim(limit: free, inFlight: inFlightByChannel, onlyChannels: nil, windows: claimWindows)
    }

    /// The router's claim under a reservation of `limit` slots took `deliveries`: start
    /// them (none after `stop`: they stay leased and are sent again once the lease
    /// expires) and free the slots they did not use.
    mutating func routedClaimAccepted(_ deliveries: [DeliveryRecord], limit: Int) -> [Action] {
        reserved -= limit
        guard running else { return concludeStopIfIdle() }
        return startSends(deliveries.prefix(limit))
    }

    /// The pool's own `claim` took `deliveries` at `now`.
    mutating func claimed(_ deliveries: [DeliveryRecord], for claim: Claim, at now: Timestamp) -> [Action] {
        claimRunning = false
        reserved -= claim.limit
        guard running else { return concludeStopIfIdle() }
        var actions = startSends(deliveries.prefix(claim.limit))
        if claim.isFull {
            // Less than there was room for: everything due was taken but for channels at
            // their limit or behind a breaker. Until new work or the timer, only finished
            // sends refill their channels; the timer is set for the next due time.
            drained = deliveries.count < claim.limit
            if drained {
                lookupsRunning += 1
                actions.append(.findNextDueTime(claimedAt: now))
            }
        }
        settleFinishedDuringClaim()
        return actions + claimWanted()
    }

    /// The pool's own `claim` failed at `now`: try again in a second.
    mutating func claimFailed(_ claim: Claim, at now: Timestamp) -> [Action] {
        claimRunning = false
        reserved -= claim.limit
        guard running else { return concludeStopIfIdle() }
        settleFinishedDuringClaim()
        return wake(at: DeliveryArithmetic.time(now, plus: 1000), replacing: true) + claimWanted()
    }

    /// The queue's next due time (`nil` when nothing is waiting, or the lookup failed), read
    /// at `now` for a drained claim made at `claimedAt`: sets the timer for it, at most a
    /// minute after the claim. Due already yet not claimed means its channel is at its
    /// in-flight limit (its finished sends refill it) or a breaker's trial is out: look again
    /// in a second, not sooner, since each full claim walks past that backlog (with a
    /// recovered desk's 26,000 retries waiting, tens of milliseconds on the writer a walk).
    mutating func nextDueTimeFound(_ due: Timestamp?, claimedAt: Timestamp, now: Timestamp) -> [Action] {
        lookupsRunning -= 1
        let earliestRetry = earliestRetryDuringLookup
        if lookupsRunning == 0 { earliestRetryDuringLookup = nil }
        guard running else { return concludeStopIfIdle() }
        var at: Timestamp
        if let due {
            let when = due.milliseconds > claimedAt.milliseconds ? due.milliseconds : DeliveryArithmetic.sum(now.milliseconds, 1000)
            at = Timestamp(milliseconds: min(when, DeliveryArithmetic.sum(claimedAt.milliseconds, 60_000)))
        } else {
            at = DeliveryArithmetic.time(claimedAt, plus: 60_000)
        }
        if let earliestRetry, earliestRetry < at { at = earliestRetry }
        return wake(at: at, replacing: true)
    }

    /// A send in `slot` to `channelID` finished and its outcome was handed to the queue;
    /// `retryAt` is when the delivery is due again, if it will be; `answer`, what it says
    /// about the endpoint's capacity (`nil`: nothing, as for an email or a send held back).
    mutating func sendFinished(slot: Int, channelID: String, retryAt: Timestamp?, answer: EndpointWindow.Answer? = nil) -> [Action] {
        freeSlots.append(slot)
        inFlight -= 1
        let wasFull = inFlightByChannel[channelID, default: 1] >= window(of: channelID)
        if let answer {
            var adjusted = windows[channelID] ?? EndpointWindow(initial: perChannel, ceiling: windowCeiling)
            adjusted.record(answer, inFlight: inFlightByChannel[channelID, default: 1])
            // Back where every channel starts: forget it, so the map holds only channels that differ.
            windows[channelID] = adjusted == EndpointWindow(initial: perChannel, ceiling: windowCeiling) ? nil : adjusted
        }
        inFlightByChannel[channelID, default: 1] -= 1
        if inFlightByChannel[channelID] == 0 { inFlightByChannel.removeValue(forKey: channelID) }
        guard running else { return concludeStopIfIdle() }
        var actions: [Action] = []
        if let retryAt { actions += wake(at: retryAt, replacing: false) }
        if claimRunning {
            finishedDuringClaim[channelID, default: 0] += 1
            return actions
        }
        if drained {
            // Everything else due was taken; only this channel may have more waiting.
            if wasFull { actions += requestClaim(only: [channelID]) }
        } else if inFlight <= maxConcurrent / 2 {
            // Refill in batches: a claim is a transaction, and claiming after every single
            // completion made each delivery cost two commits on the writer.
            actions += requestClaim(only: nil)
        }
        return actions
    }

    /// Stops claiming and starting sends; `concludeStop` follows once the sends, claim and
    /// lookup running now have finished (at once when none is).
    mutating func stop() -> [Action] {
        running = false
        stopWaiters += 1
        return concludeStopIfIdle()
    }

    // MARK: Transitions

    /// A claim for the free slots, or for `channels` alone; made after the running claim
    /// when there is one.
    private mutating func requestClaim(only channels: Set<String>?) -> [Action] {
        guard running else { return [] }
        if claimRunning {
            if let channels { refillsWanted.formUnion(channels) } else { fullClaimWanted = true }
            return []
        }
        let free = freeSlotCount
        guard free > 0 else { return [] }
        reserved += free
        claimRunning = true
        return [.claim(Claim(limit: free, inFlight: inFlightByChannel, onlyChannels: channels, windows: claimWindows))]
    }

    /// What the sends that finished while the claim ran ask for, now that it answered: the
    /// refill of a channel that was at its limit counting what the claim took (once drained),
    /// or a full claim when half the slots are free (otherwise).
    private mutating func settleFinishedDuringClaim() {
        let finished = finishedDuringClaim
        finishedDuringClaim = [:]
        guard !finished.isEmpty else { return }
        if drained {
            for (channel, count) in finished where inFlightByChannel[channel, default: 0] + count >= window(of: channel) { refillsWanted.insert(channel) }
        } else if inFlight <= maxConcurrent / 2 {
            fullClaimWanted = true
        }
    }

    /// The claim wanted while the last one ran: a full claim, else the channels' refills.
    private mutating func claimWanted() -> [Action] {
        defer { (fullClaimWanted, refillsWanted) = (false, []) }
        if fullClaimWanted { return requestClaim(only: nil) }
        if !refillsWanted.isEmpty { return requestClaim(only: refillsWanted) }
        return []
    }

    /// Takes a free slot for each of `deliveries`.
    private mutating func startSends(_ deliveries: ArraySlice<DeliveryRecord>) -> [Action] {
        var actions: [Action] = []
        actions.reserveCapacity(deliveries.count + 2)
        for delivery in deliveries {
            inFlight += 1
            inFlightByChannel[delivery.channelID, default: 0] += 1
            actions.append(.send(delivery, slot: freeSlots.removeLast()))
        }
        return actions
    }

    /// Sets the timer for `time`, or only brings it forward unless `replacing`.
    private mutating func wake(at time: Timestamp, replacing: Bool) -> [Action] {
        if !replacing && lookupsRunning > 0 { earliestRetryDuringLookup = min(earliestRetryDuringLookup ?? time, time) }
        if !replacing, let current = wakeAt, current <= time { return [] }
        wakeAt = time
        return [.wake(at: time)]
    }

    /// `concludeStop` when stopped with nothing running and someone waiting.
    private mutating func concludeStopIfIdle() -> [Action] {
        guard !running, stopWaiters > 0, inFlight == 0, !claimRunning, lookupsRunning == 0 else { return [] }
        defer { stopWaiters = 0 }
        return [.concludeStop(waiters: stopWaiters)]
    }
}
