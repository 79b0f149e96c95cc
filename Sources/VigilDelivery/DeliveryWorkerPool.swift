import Dispatch
import Foundation
import VigilCore

/// How the workers behave; the defaults are DESIGN §7's.
public struct WorkerConfiguration: Sendable {
    /// Sends in flight at once, over all endpoints.
    public var maxConcurrent = 32
    /// Sends in flight at once to one channel, so a slow endpoint cannot take every slot.
    public var perChannel = 4
    /// How long a claimed delivery is ours; after that another worker (or this one after a
    /// restart) picks it up again.
    public var leaseMilliseconds: Int64 = 60_000
    /// Longest wait for a webhook's answer.
    public var webhookTimeoutMilliseconds = 15_000
    /// The schedule for everything but critical alerts.
    public var standardRetry = RetryPolicy.standard
    /// The faster schedule for critical alerts.
    public var criticalRetry = RetryPolicy.critical
    /// After this many failed attempts of a critical alert's webhook, the subscriber's
    /// contact is also emailed (once) when it has no email channel of its own.
    public var criticalFallbackAfter = 3
    /// Lets webhooks reach internal addresses and plain http.
    public var allowPrivateWebhooks = false
    /// The SMTP relay, or `nil` when email is not configured.
    public var smtp: SMTPSender?

    /// The defaults.
    public init() {}
}

/// What the pool reports, for metrics and logs; no personal data passes through it.
public struct DeliveryEvents: Sendable {
    /// After every attempt: the delivery, the outcome word (`delivered`, `retry`, `dead`) and
    /// the seconds since the alert was received.
    public var attempted: @Sendable (DeliveryRecord, String, Double) -> Void = { _, _, _ in }
    /// A breaker opened for a channel of a subscriber.
    public var breakerOpened: @Sendable (String, String) -> Void = { _, _ in }
    /// Something to log: a message and fields.
    public var note: @Sendable (String, [String: String]) -> Void = { _, _ in }

    /// Events that do nothing.
    public init() {}
}

/// The delivery workers (DESIGN §7) on dispatch queues.
///
/// A serial control queue claims due deliveries — critical first — under a lease, when the
/// router reports new ones or a timer reaches the next due time; sends run in send slots,
/// bounded overall and per channel, webhooks all on one libcurl multi handle
/// (`CurlTransport`) and prepared on a queue as wide as the cores; each outcome is
/// recorded, retried with backoff within the budget, or sent to the dead letters. A circuit
/// breaker per channel stops hammering a receiver that is down and tells its owner.
public final class DeliveryWorkerPool: DeliveryHandOff, @unchecked Sendable {
    private let queue: any DeliveryWorkQueue
    private let log: any AlertLog
    private let directory: any SubscriberDirectory
    private let configuration: WorkerConfiguration
    private let events: DeliveryEvents
    /// The per-channel breakers.
    public let breaker: CircuitBreaker
    private let policy: AddressPolicy
    private let control = DispatchQueue(label: "vigil.workers.control")
    /// One serial queue per send slot, for email: it prepares the send, runs the SMTP
    /// exchange and records the outcome. The exchange blocks the slot's thread, and on a
    /// shared concurrent queue libdispatch adds threads only slowly when they block; serial
    /// queues are served by overcommitting threads at once.
    private let senders: [DispatchQueue]
    /// Where webhook sends are prepared and concluded: a concurrent queue on the shared pool,
    /// which runs about as many threads as there are cores. A webhook's exchange runs on
    /// `CurlTransport` and holds no thread, so a busy thread takes the next send without
    /// being woken; with a serial queue per slot every step woke a thread of its own (5 context
    /// switches per delivery in a fan-out to 1,000 endpoints, 2.9 this way).
    private let webhookWork = DispatchQueue(label: "vigil.workers.webhooks", attributes: .concurrent)
    private var freeSlots: [Int]
    private let notices = DispatchQueue(label: "vigil.workers.notices")
    private let wake: DispatchSourceUserDataOr
    private let timer: DispatchSourceTimer
    private let inFlightGroup = DispatchGroup()
    private var inFlight = 0
    /// Slots set aside for a claim in the router's transaction, not yet started.
    private var reserved = 0
    private var inFlightByChannel: [String: Int] = [:]
    private var running = false
    /// Whether the last full claim found less due work than it had room for: everything due
    /// then was taken but for channels at their in-flight limit. Until new work is reported
    /// or the timer fires, a finished send refills only its own channel, and only when that
    /// channel was at its limit: a full claim would pass over the same backlog again.
    private var drained = false
    /// When `timer` fires next.
    private var wakeAt: Timestamp?
    /// Alerts being sent, opened (identities included): a fan-out needs one, a replay about
    /// as many as there are send slots. At 4,096 it held the last 20 seconds' alerts at 200/s.
    private let alerts = AlertCache(capacity: 256)

    /// A pool over `queue`, reading alerts from `log` and receivers from `directory`.
    public init(queue: any DeliveryWorkQueue, log: any AlertLog, directory: any SubscriberDirectory, configuration: WorkerConfiguration, breaker: CircuitBreaker = CircuitBreaker(), events: DeliveryEvents = DeliveryEvents()) {
        self.queue = queue
        self.log = log
        self.directory = directory
        self.configuration = configuration
        self.breaker = breaker
        self.events = events
        policy = AddressPolicy(allowPrivate: configuration.allowPrivateWebhooks, resolutions: HostResolutions())
        wake = DispatchSource.makeUserDataOrSource(queue: control)
        timer = DispatchSource.makeTimerSource(queue: control)
        senders = (0..<max(1, configuration.maxConcurrent)).map { DispatchQueue(label: "vigil.workers.send.\($0)") }
        freeSlots = Array(senders.indices)
    }

    /// Starts claiming; deliveries in flight under an expired lease are picked up too.
    public func start() {
        control.sync { running = true }
        // New work reported, or the next due time reached: claim in full, now or (with no
        // slot free) at the next completions.
        wake.setEventHandler { [weak self] in self?.drained = false; self?.claim() }
        timer.setEventHandler { [weak self] in
            self?.wakeAt = nil
            self?.drained = false
            self?.claim()
        }
        timer.schedule(deadline: .distantFuture)
        wake.resume()
        timer.resume()
        poke()
    }

    /// Drops cached copies of these alerts, so sends after an erasure read the log again
    /// and carry `[erased]`. Safe from any thread.
    public func forget(alertIDs: [String]) { alerts.remove(alertIDs) }

    /// Drops the cached copy of the alert `alertID` (an erasure observer calls this when the
    /// log erases it, on any thread); its next send reads the log again.
    public func forget(alertID: String) { alerts.remove([alertID]) }

    /// Asks the pool to look for due work (the router calls this after recording deliveries).
    public func poke() { wake.or(data: 1) }

    /// Stops claiming and waits up to `timeout` seconds for sends in flight; a send still
    /// running then is picked up again after its lease expires.
    public func stop(timeout: Double = 20) {
        control.sync { running = false }
        wake.cancel()
        timer.cancel()
        _ = inFlightGroup.wait(timeout: .now() + timeout)
    }

    /// Sends in flight now.
    public var sendsInFlight: Int { control.sync { inFlight } }

    public func reserveForRouting() -> ClaimRequest? {
        control.sync {
            guard running else { return nil }
            let free = freeSlotCount
            guard free > 0 else { return nil }
            reserved += free
            return claimRequest(limit: free, now: .now())
        }
    }

    public func accept(_ claimed: [DeliveryRecord], reservedBy reservation: ClaimRequest) {
        control.async { [self] in
            reserved -= reservation.limit
            // After `stop`, what was claimed stays leased and is sent again once the lease
            // expires (or after the restart).
            guard running else { return }
            for delivery in claimed.prefix(reservation.limit) { send(delivery) }
        }
    }

    /// Send slots neither busy nor set aside.
    private var freeSlotCount: Int { min(configuration.maxConcurrent - inFlight, freeSlots.count) - reserved }

    /// A claim for `limit` deliveries within each channel's in-flight room, holding back
    /// channels behind an open breaker until their next trial; on `control`.
    private func claimRequest(limit: Int, now: Timestamp, only channel: String? = nil) -> ClaimRequest {
        ClaimRequest(
            limit: limit, leaseMilliseconds: configuration.leaseMilliseconds, perChannel: configuration.perChannel,
            inFlight: inFlightByChannel,
            heldChannels: breaker.blocked(now: Double(now.milliseconds) / 1000).mapValues { Timestamp(milliseconds: DeliveryArithmetic.milliseconds(fromSeconds: $0)) },
            onlyChannels: channel.map { [$0] })
    }

    /// Claims due work for the free slots and sets the timer for the next due time; with
    /// `channel`, refills that channel's room alone and leaves the timer be. On `control`.
    private func claim(only channel: String? = nil) {
        guard running else { return }
        let free = freeSlotCount
        guard free > 0 else { return }
        let now = Timestamp.now()
        let claimed: [DeliveryRecord]
        do {
            claimed = try queue.claimDue(claimRequest(limit: free, now: now, only: channel), now: now)
        } catch {
            events.note("cannot claim deliveries; retrying in 1 s", ["error": String(describing: error)])
            wake(at: DeliveryArithmetic.time(now, plus: 1000), replacing: true)
            return
        }
        for delivery in claimed { send(delivery) }
        guard channel == nil else { return }
        drained = claimed.count < free
        guard drained else { return }  // more may be due; the next completion claims again
        if let due = try? queue.nextDueTime() {
            // Due already yet not claimed: its channel is at its in-flight limit (its finished
            // sends refill it) or a breaker's trial is out. Look again in a second, not sooner:
            // each full claim walks past that backlog (with a recovered desk's 26,000 retries
            // waiting, tens of milliseconds on the writer for each walk).
            let at = due.milliseconds > now.milliseconds ? due.milliseconds : DeliveryArithmetic.sum(Timestamp.now().milliseconds, 1000)
            wake(at: Timestamp(milliseconds: min(at, DeliveryArithmetic.sum(now.milliseconds, 60_000))), replacing: true)
        } else {
            wake(at: DeliveryArithmetic.time(now, plus: 60_000), replacing: true)
        }
    }

    /// Sets the timer to fire at `time` (a millisecond after), or only brings it forward
    /// unless `replacing`; on `control`.
    private func wake(at time: Timestamp, replacing: Bool) {
        if !replacing, let current = wakeAt, current <= time { return }
        wakeAt = time
        // At most a minute: a due time from a record or a receiver can be anything, and the
        // claim the timer sets off sets it again.
        let wait = min(max(0, DeliveryArithmetic.difference(time.milliseconds, Timestamp.now().milliseconds)), 60_000)
        timer.schedule(deadline: .now() + .milliseconds(Int(wait) + 1))
    }

    /// Starts `delivery` in a free slot; on `control`.
    private func send(_ delivery: DeliveryRecord) {
        inFlight += 1
        inFlightByChannel[delivery.channelID, default: 0] += 1
        inFlightGroup.enter()
        let slot = freeSlots.removeLast()
        let sender = delivery.channelType == .webhook ? webhookWork : senders[slot]
        sender.async { [self] in
            attempt(delivery, on: sender) { [self] retryAt in control.async { [self] in
                freeSlots.append(slot)
                inFlight -= 1
                let channel = delivery.channelID
                let wasFull = inFlightByChannel[channel, default: 1] >= configuration.perChannel
                inFlightByChannel[channel, default: 1] -= 1
                if inFlightByChannel[channel] == 0 { inFlightByChannel.removeValue(forKey: channel) }
                inFlightGroup.leave()
                if let retryAt { wake(at: retryAt, replacing: false) }
                if drained {
                    // Everything else due was taken; only this channel may have more waiting.
                    if wasFull { claim(only: channel) }
                } else if inFlight <= configuration.maxConcurrent / 2 {
                    // Refill in batches: a claim is a transaction, and claiming after every
                    // single completion made each delivery cost two commits on the writer.
                    claim()
                }
            } }
        }
    }

    /// One attempt at `delivery`, started on its slot's queue `sender`; `done` is called once
    /// the outcome is handed to the queue, whose commit the slot does not wait for, with the
    /// time of the next attempt when there will be one. A
    /// webhook's exchange runs on `CurlTransport` without holding a thread; what follows it
    /// comes back to `sender`.
    func attempt(_ delivery: DeliveryRecord, on sender: DispatchQueue, done: @escaping @Sendable (Timestamp?) -> Void) {
        let now = Timestamp.now()
        let target: SendTarget
        do {
            switch try prepare(delivery) {
            case .settled(let outcome):
                return done(record(delivery, outcome))
            case .send(let prepared):
                target = prepared
            }
        } catch {
            events.note("cannot decide a delivery; its lease will expire and it is sent again", ["delivery": delivery.id, "error": String(describing: error)])
            return done(nil)
        }
        let conclude: @Sendable (DeliveryVerdict) -> Void = { [self] verdict in
            do {
                done(record(delivery, try outcome(of: verdict, delivery, target, now: now)))
            } catch {
                events.note("cannot decide a delivery; its lease will expire and it is sent again", ["delivery": delivery.id, "error": String(describing: error)])
                done(nil)
            }
        }
        // Behind an open breaker nothing is sent but its one trial: a delivery claimed anyway
        // (critical ones are, and a claim made as the cool-down ended may take several) waits
        // for the next trial.
        let seconds = Double(now.milliseconds) / 1000
        guard breaker.allows(target.channel.id, now: seconds) else {
            let trial = breaker.blocked(now: seconds)[target.channel.id] ?? seconds + 1
            let wait = DeliveryArithmetic.difference(DeliveryArithmetic.milliseconds(fromSeconds: trial), now.milliseconds)
            return conclude(.held(notBeforeMilliseconds: max(0, wait)))
        }
        switch target.channel.type {
        case .webhook:
            sendWebhook(delivery, alert: target.alert, url: target.channel.url ?? "", secrets: target.secrets, now: now) { verdict in sender.async { conclude(verdict) } }
        case .email:
            conclude(sendEmail(delivery, alert: target.alert, to: target.channel.address ?? "", language: target.subscriber.language))
        }
    }

    /// Hands `outcome` to the queue, without waiting for the commit; returns when the
    /// delivery is due again, if it will be.
    @discardableResult
    private func record(_ delivery: DeliveryRecord, _ outcome: DeliveryOutcome) -> Timestamp? {
        let word = switch outcome {
        case .delivered: "delivered"
        case .retry: "retry"
        case .dead: "dead"
        }
        let received = alerts.get(delivery.alertID)?.alert.receivedAt ?? Timestamp.now()
        let events = self.events
        queue.complete(delivery.id, outcome: outcome, at: Timestamp.now()) { error in
            if let error {
                events.note("cannot record a delivery outcome; its lease will expire and it is sent again", ["delivery": delivery.id, "error": String(describing: error)])
                return
            }
            events.attempted(delivery, word, Double(max(0, DeliveryArithmetic.difference(Timestamp.now().milliseconds, received.milliseconds))) / 1000)
        }
        if case .retry(let at, _) = outcome { return at }
        return nil
    }

    /// Who and what a send goes to.
    struct SendTarget: Sendable {
        let alert: Alert
        let subscriber: Subscriber
        let channel: Channel
        /// A webhook's signing secrets (none for email).
        let secrets: [WebhookSecret]
    }

    /// What to do with a claimed delivery before anything is sent.
    enum Preparation: Sendable {
        /// Nothing to send: the outcome is known already.
        case settled(DeliveryOutcome)
        /// Send the alert, redacted for the subscriber, over the channel.
        case send(SendTarget)
    }

    private func prepare(_ delivery: DeliveryRecord) throws -> Preparation {
        guard let stored = try alert(delivery.alertID) else { return .settled(.dead(error: "the alert is no longer in the log")) }
        guard let subscriber = try directory.subscriber(id: delivery.subscriberID) else { return .settled(.dead(error: "the subscriber was deleted")) }
        guard let channel = subscriber.channels.first(where: { $0.id == delivery.channelID }) else {
            return .settled(.dead(error: "the subscriber no longer has this channel"))
        }
        if let reason = try directory.disabledReason(channelID: channel.id) { return .settled(.dead(error: "the endpoint is disabled: \(reason)")) }
        let secrets = channel.type == .webhook ? try directory.secrets(channelID: channel.id).compactMap(WebhookSecret.init) : []
        return .send(SendTarget(alert: stored.alert.redacted(for: subscriber.clearance, language: subscriber.language), subscriber: subscriber, channel: channel, secrets: secrets))
    }

    /// What a send's verdict means for the delivery: delivered, retried within the budget
    /// (the breaker and the critical fallback told), or dead.
    private func outcome(of verdict: DeliveryVerdict, _ delivery: DeliveryRecord, _ target: SendTarget, now: Timestamp) throws -> DeliveryOutcome {
        let (subscriber, channel) = (target.subscriber, target.channel)
        let seconds = Double(now.milliseconds) / 1000
        switch verdict {
        case .delivered:
            breaker.recordSuccess(channel.id)
            return .delivered
        case .gone:
            try directory.disable(channelID: channel.id, reason: "the endpoint answered 410 Gone")
            events.note("endpoint answered 410 Gone; channel disabled", ["subscriber": subscriber.id, "channel": channel.id])
            return .dead(error: "the endpoint answered 410 Gone; the channel is disabled")
        case .permanent(let reason):
            return .dead(error: reason)
        case .held(let notBefore):
            return try retryOrDeath(delivery, target, reason: "not sent: the endpoint's circuit breaker is open", heldFor: notBefore, now: now)
        case .retry(let reason, let notBefore):
            if breaker.recordFailure(channel.id, now: seconds) {
                events.breakerOpened(subscriber.id, channel.id)
                notifyOwner(subscriber, channel: channel, reason: reason)
            }
            return try retryOrDeath(delivery, target, reason: reason, retryAfter: notBefore, now: now)
        }
    }

    /// Another attempt within the retry budget, after the backoff (the critical fallback
    /// told on its attempt), or dead once the budget is spent. The receiver's `retryAfter` counts up to the schedule's cap (`RetryPolicy.delay`); a
    /// breaker's hold (`heldFor`, until its next trial) counts in full: it is Vigil's own.
    private func retryOrDeath(
        _ delivery: DeliveryRecord, _ target: SendTarget, reason: String, retryAfter: Int64? = nil, heldFor: Int64? = nil, now: Timestamp
    ) throws -> DeliveryOutcome {
        let (alert, subscriber, channel) = (target.alert, target.subscriber, target.channel)
        if delivery.severity == .critical && channel.type == .webhook && delivery.attempts == configuration.criticalFallbackAfter
            && !subscriber.channels.contains(where: { $0.type == .email }) {
            emailFallback(delivery, alert: alert, subscriber: subscriber)
        }
        let retry = delivery.severity == .critical ? configuration.criticalRetry : configuration.standardRetry
        var generator = SystemRandomNumberGenerator()
        // Saturating: the delay is at most the cap, but `now` and the cap are not ours to trust.
        let delay = max(retry.delay(afterAttempt: delivery.attempts, retryAfterMilliseconds: retryAfter, using: &generator), heldFor ?? 0)
        let next = DeliveryArithmetic.sum(now.milliseconds, delay)
        let first = try queue.firstAttempt(of: delivery.id)?.milliseconds ?? now.milliseconds
        guard retry.allows(nextAttemptAt: next, firstAttemptAt: first) else {
            return .dead(error: "gave up after \(delivery.attempts) attempts: \(reason)")
        }
        return .retry(at: Timestamp(milliseconds: next), error: reason)
    }

    /// The alert `id`, from the cache when a sibling delivery already read it: log entries
    /// never change, and decoding the same alert once per delivery dominated fan-out.
    private func alert(_ id: String) throws -> StoredAlert? {
        if let cached = alerts.get(id) { return cached }
        // An alert forgotten (erased) while it was being read is not cached: the copy read
        // may be from before the erasure.
        let generation = alerts.generation
        guard let stored = try log.alert(id: id) else { return nil }
        alerts.put(stored, ifNothingForgottenSince: generation)
        return stored
    }

    /// Signs and POSTs the alert to `url`, after checking where the address leads; `verdict`
    /// is called once, on the transport's thread when a request went out.
    private func sendWebhook(
        _ delivery: DeliveryRecord, alert: Alert, url: String, secrets: [WebhookSecret], now: Timestamp, verdict: @escaping @Sendable (DeliveryVerdict) -> Void) {
        let target: (host: String, port: Int, address: String)
        switch policy.check(url) {
        case .failure(.unresolvable(let host)):  // DNS trouble may pass; an internal address will not
            return verdict(.retry(reason: AddressRefusal.unresolvable(host).description, notBeforeMilliseconds: nil))
        case .failure(let refusal): return verdict(.permanent(reason: refusal.description))
        case .success(let checked): target = checked
        }
        guard !secrets.isEmpty else { return verdict(.permanent(reason: "the channel has no signing secret")) }
        let body = WebhookPayload.body(alert: alert, deliveryID: delivery.id, sentAt: now, replayID: delivery.replayID)
        var headers: [(String, String)] = [
            ("content-type", "application/json"), ("user-agent", "Vigil"),
            ("webhook-id", delivery.id), ("webhook-timestamp", String(now.unixSeconds)),
            ("webhook-signature", WebhookSignature.header(id: delivery.id, timestamp: now.unixSeconds, body: body, secrets: secrets)),
        ]
        if alert.status == .exercise { headers.append(("vigil-exercise", "true")) }
        if let replayID = delivery.replayID { headers += [("vigil-replay", "true"), ("vigil-replay-id", replayID)] }
        let request = CurlRequest(
            url: url, headers: headers, body: body, timeoutMilliseconds: configuration.webhookTimeoutMilliseconds, pinnedAddress: target)
        CurlTransport.shared.post(request) { result in verdict(DeliveryVerdict.of(result)) }
    }

    private func sendEmail(_ delivery: DeliveryRecord, alert: Alert, to address: String, language: String) -> DeliveryVerdict {
        guard let smtp = configuration.smtp else { return .retry(reason: "no SMTP relay is configured (smtp_url)", notBeforeMilliseconds: nil) }
        let message = AlertEmail.message(
            alert: alert, to: address, language: language, deliveryID: delivery.id, from: smtp.from, replay: delivery.replayID != nil)
        switch smtp.send(message) {
        case .success: return .delivered
        case .failure(.permanent(let why)): return .permanent(reason: why)
        case .failure(.transient(let why)): return .retry(reason: why, notBeforeMilliseconds: nil)
        }
    }

    /// Emails the subscriber's contact that a breaker opened; best effort, never blocks a send.
    private func notifyOwner(_ subscriber: Subscriber, channel: Channel, reason: String) {
        guard let smtp = configuration.smtp else { return }
        let l = EmailLabels.forLanguage(subscriber.language)
        let text = "\(l.label("notice_body"))\n\n\(channel.target)\n\n\(reason)\n"
        let message = EmailMessage(
            from: smtp.from, to: [subscriber.contact], subject: "\(l.label("notice_subject")) (\(subscriber.name))",
            messageID: "breaker-\(channel.id)-\(Timestamp.now().milliseconds)@vigil.invalid", date: .now(), text: text,
            html: "<p>\(AlertEmail.escape(l.label("notice_body")))</p><p><code>\(AlertEmail.escape(channel.target))</code></p><p>\(AlertEmail.escape(reason))</p>")
        notices.async { [events] in
            if case .failure(let error) = smtp.send(message) {
                events.note("could not tell the owner that a breaker opened", ["subscriber": subscriber.id, "error": error.description])
            }
        }
    }

    /// A critical alert whose webhook keeps failing also goes to the subscriber's contact.
    private func emailFallback(_ delivery: DeliveryRecord, alert: Alert, subscriber: Subscriber) {
        guard let smtp = configuration.smtp else { return }
        let message = AlertEmail.message(alert: alert, to: subscriber.contact, language: subscriber.language, deliveryID: delivery.id + "-fallback", from: smtp.from)
        notices.async { [events] in
            if case .failure(let error) = smtp.send(message) {
                events.note("critical fallback email failed", ["subscriber": subscriber.id, "error": error.description])
            } else {
                events.note("critical alert sent to the contact by email while the webhook fails", ["subscriber": subscriber.id, "delivery": delivery.id])
            }
        }
    }
}

/// A bounded map of recently sent alerts; cleared whole when full (cheap, and the working set
/// of a fan-out is one alert). Every member is guarded by `lock`, so any thread may use it.
final class AlertCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: StoredAlert] = [:]
    private var removals: UInt64 = 0
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func get(_ id: String) -> StoredAlert? { lock.withLock { entries[id] } }

    /// Counts removals: read before reading an alert from the log, handed to `put`.
    var generation: UInt64 { lock.withLock { removals } }

    func remove(_ ids: [String]) {
        lock.withLock {
            removals &+= 1
            for id in ids { entries.removeValue(forKey: id) }
        }
    }

    /// Keeps `stored` unless an alert was removed since `generation`: the copy may then be
    /// one read before its erasure.
    func put(_ stored: StoredAlert, ifNothingForgottenSince generation: UInt64) {
        lock.withLock {
            guard removals == generation else { return }
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[stored.alert.id] = stored
        }
    }
}
