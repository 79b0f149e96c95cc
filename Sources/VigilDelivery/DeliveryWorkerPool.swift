import Dispatch
import Foundation
import Synchronization
import VigilConcurrency
import VigilCore
import VigilObservability

/// How the workers behave; the defaults are DESIGN §7's.
public struct WorkerConfiguration: Sendable {
    /// Sends in flight at once, over all endpoints.
    public var maxConcurrent = 32
    /// Sends in flight at once to one channel at first, and again once it fails or slows
    /// down, so a slow endpoint or a desk back from an outage cannot take every slot.
    public var perChannel = 4
    /// The most sends one webhook endpoint may have in flight once its window opened (it opens
    /// while the endpoint answers quickly and successfully; see `EndpointWindow`).
    public var endpointWindowCeiling = 16
    /// Answers slower than this close an endpoint's window by one.
    public var slowAnswerMilliseconds = 1_000
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
    /// The `ack_url` for an (alert id, subscriber id), carried by every webhook and email
    /// but the reports to the filing organisation; `nil` (the default's answer) leaves it
    /// out. The service passes `AckLink.urls(publicURL:key:)`.
    public var ackURL: @Sendable (_ alertID: String, _ subscriberID: String) -> String? = { _, _ in nil }

    /// The defaults.
    public init() {}

    /// The retry and dead-letter rules these settings make.
    public var deliveryPolicy: DeliveryPolicy {
        DeliveryPolicy(standardRetry: standardRetry, criticalRetry: criticalRetry, criticalFallbackAfter: criticalFallbackAfter)
    }
}

/// What the pool reports, for metrics; no personal data passes through it. (Its log lines
/// go through the `Logger` the pool is given.)
public struct DeliveryEvents: Sendable {
    /// After every attempt: the delivery, the outcome word (`delivered`, `retry`, `dead`) and
    /// the seconds since the alert was received.
    public var attempted: @Sendable (DeliveryRecord, String, Double) -> Void = { _, _, _ in }
    /// A breaker opened for a channel of a subscriber.
    public var breakerOpened: @Sendable (String, String) -> Void = { _, _ in }
    /// An escalation was delivered: the delivery (to one channel of a backup subscriber) and
    /// the id of the subscriber that did not acknowledge in time. Called once per escalation
    /// delivery the receiver took, after its outcome is recorded; never for one cancelled.
    public var escalated: @Sendable (DeliveryRecord, String) -> Void = { _, _ in }

    /// Events that do nothing.
    public init() {}
}

/// The delivery workers (DESIGN §7) on dispatch queues.
///
/// `DeliveryScheduler` decides when to claim, send and wake; the pool keeps it under one
/// lock, feeds it events (work reported, a claim's answer, a send finished, the timer, stop)
/// and performs the actions it returns once the lock is let go. Claims — critical first,
/// under a lease — and due-time lookups wait for the store, so they run on the blocking
/// pool, as do email sends (the SMTP exchange blocks); sends run in send slots, bounded
/// overall and per channel, webhooks through the injected `WebhookTransport` (one libcurl
/// multi handle in the service) and prepared on a queue as wide as the cores.
/// `DeliveryPolicy` turns each verdict into the outcome recorded: delivered, retried with
/// backoff within the budget, or dead. A circuit breaker per channel stops hammering a
/// receiver that is down and tells its owner.
public final class DeliveryWorkerPool: DeliveryWorkers, @unchecked Sendable {
    // @unchecked: every member is a constant of a Sendable type but the two dispatch sources
    // (`wake`, `timer`), which libdispatch lets any thread signal, arm and cancel.
    private let queue: any DeliveryWorkQueue
    private let log: any AlertLog
    private let directory: any SubscriberDirectory
    /// Who acknowledged what, asked before a follow-up is sent; `nil` when none are known.
    private let acknowledgements: (any AcknowledgementLedger)?
    /// Case reads kept until the next append (see `CaseReadings`), and what tells it of appends.
    private let caseReadings = CaseReadings()
    private let appendsForCaseReadings: AppendObservation
    private let configuration: WorkerConfiguration
    private let events: DeliveryEvents
    /// Where the pool's lines go (ids and reasons only, never identities).
    private let logger: Logger
    private let transport: any WebhookTransport
    /// The per-channel breakers.
    public let breaker: CircuitBreaker
    private let addresses: AddressPolicy
    /// What a verdict means for its delivery.
    private let policy: DeliveryPolicy
    /// When to claim, send and wake; every change is an event under this lock.
    private let schedule: Mutex<DeliveryScheduler>
    /// Arms the timer, one change at a time.
    private let control = DispatchQueue(label: "vigil.workers.control")
    /// Where the work that blocks runs: claims and due-time lookups (they wait for the
    /// store), email sends and owner notices (the SMTP exchange).
    private let blocking: BlockingPool
    /// Whether `blocking` was made for this pool, which then starts and shuts it down.
    private let ownsBlocking: Bool
    /// Where webhook sends are prepared and concluded: a concurrent queue on the shared pool,
    /// which runs about as many threads as there are cores. A webhook's exchange runs on the
    /// transport and holds no thread, so a busy thread takes the next send without being
    /// woken; with a serial queue per slot every step woke a thread of its own (5 context
    /// switches per delivery in a fan-out to 1,000 endpoints, 2.9 this way).
    private let webhookWork = DispatchQueue(label: "vigil.workers.webhooks", attributes: .concurrent)
    private let wake: DispatchSourceUserDataOr
    private let timer: DispatchSourceTimer
    /// Entered by each caller of `stop`, left when the scheduler concludes the stop.
    private let stopping = DispatchGroup()

    /// A pool over `queue`, reading alerts from `log`, receivers from `directory` and
    /// acknowledgements from `acknowledgements` (`nil`: none are known, so no follow-up is
    /// ever cancelled for one), posting webhooks through `transport`, logging through `logger`,
    /// running what blocks on `blocking` (the service's pool, started and shut down by its
    /// owner; without one, a pool of `maxConcurrent` + 2 threads is made for it, started by
    /// `start` and shut down by `stop`).
    public init(
        queue: any DeliveryWorkQueue, log: any AlertLog, directory: any SubscriberDirectory,
        acknowledgements: (any AcknowledgementLedger)? = nil, configuration: WorkerConfiguration,
        transport: any WebhookTransport, breaker: CircuitBreaker = CircuitBreaker(), events: DeliveryEvents = DeliveryEvents(),
        logger: Logger = .disabled(label: "workers"), blocking: BlockingPool? = nil
    ) {
        self.blocking = blocking ?? BlockingPool(threadCount: max(1, configuration.maxConcurrent) + 2, label: "vigil.workers")
        ownsBlocking = blocking == nil
        self.queue = queue
        self.log = log
        self.directory = directory
        self.acknowledgements = acknowledgements
        appendsForCaseReadings = log.observeAppends { [caseReadings] _ in caseReadings.appended() }
        self.configuration = configuration
        self.transport = transport
        self.breaker = breaker
        self.events = events
        self.logger = logger
        addresses = AddressPolicy(allowPrivate: configuration.allowPrivateWebhooks, resolutions: HostResolutions())
        policy = configuration.deliveryPolicy
        schedule = Mutex(DeliveryScheduler(
            maxConcurrent: configuration.maxConcurrent, perChannel: configuration.perChannel, windowCeiling: configuration.endpointWindowCeiling))
        wake = DispatchSource.makeUserDataOrSource(queue: control)
        timer = DispatchSource.makeTimerSource(queue: control)
    }

    /// Starts claiming; deliveries in flight under an expired lease are picked up too.
    public func start() {
        if ownsBlocking { blocking.start() }
        // New work reported, or the next due time reached: claim in full, now or (with no
        // slot free) at the next completions.
        wake.setEventHandler { [weak self] in self?.event { $0.workReported() } }
        timer.setEventHandler { [weak self] in self?.event { $0.timerFired() } }
        timer.schedule(deadline: .distantFuture)
        wake.resume()
        timer.resume()
        event { $0.start() }
    }

    /// Asks the pool to look for due work (the router calls this after recording deliveries).
    public func poke() { wake.or(data: 1) }

    /// Stops claiming and waits up to `timeout` seconds for the sends, claim and lookup
    /// running; a send still running then is picked up again after its lease expires. A pool
    /// made for these workers is then shut down once its queued notices are sent (in the
    /// background when a send is still running).
    /// It blocks its thread (`BlockingPool.wait`): the service's shutdown or a test calls it.
    public func stop(timeout: Double = 20) {
        stopping.enter()
        event { $0.stop() }
        wake.cancel()
        timer.cancel()
        appendsForCaseReadings.cancel()
        let concluded = BlockingPool.wait(for: stopping, timeout: timeout)
        // A send still running past the timeout is not waited for.
        if ownsBlocking { concluded ? blocking.shutdown() : blocking.shutdownGracefully() }
    }

    /// Runs `work` on the blocking pool, or `refused` when the pool is shut down.
    private func onBlocking(_ work: @escaping @Sendable () -> Void, refused: () -> Void) {
        do {
            try blocking.submit(work)
        } catch {
            logger.info("the blocking pool takes no more work", ["error": error.description])
            refused()
        }
    }

    /// Sends in flight now.
    public var sendsInFlight: Int { schedule.withLock { $0.inFlight } }

    public func reserveForRouting() -> ClaimRequest? {
        guard let claim = schedule.withLock({ $0.reserveForRouting() }) else { return nil }
        return claimRequest(claim, now: .now())
    }

    public func accept(_ claimed: [DeliveryRecord], reservedBy reservation: ClaimRequest) {
        event { $0.routedClaimAccepted(claimed, limit: reservation.limit) }
    }

    // MARK: The scheduler's events and actions

    /// Feeds the scheduler one event under its lock, then performs what it asks for.
    private func event(_ change: (inout DeliveryScheduler) -> [DeliveryScheduler.Action]) {
        let actions = schedule.withLock { change(&$0) }
        for action in actions {
            switch action {
            case .claim(let claim):
                onBlocking({ [self] in runClaim(claim) }, refused: { event { $0.claimFailed(claim, at: .now()) } })
            case .send(let delivery, let slot):
                startSend(delivery, slot: slot)
            case .findNextDueTime(let claimedAt):
                onBlocking({ [self] in
                    let due = try? queue.nextDueTime()
                    event { $0.nextDueTimeFound(due, claimedAt: claimedAt, now: .now()) }
                }, refused: { event { $0.nextDueTimeFound(nil, claimedAt: claimedAt, now: .now()) } })
            case .wake:
                control.async { [self] in armTimer() }
            case .concludeStop(let waiters):
                for _ in 0..<waiters { stopping.leave() }
            }
        }
    }

    /// The claim `claim` asks for at `now`, holding back channels behind an open breaker
    /// until their next trial.
    private func claimRequest(_ claim: DeliveryScheduler.Claim, now: Timestamp) -> ClaimRequest {
        ClaimRequest(
            limit: claim.limit, leaseMilliseconds: configuration.leaseMilliseconds, perChannel: configuration.perChannel, windows: claim.windows,
            inFlight: claim.inFlight,
            heldChannels: breaker.blocked(now: Double(now.milliseconds) / 1000).mapValues { Timestamp(milliseconds: DeliveryArithmetic.milliseconds(fromSeconds: $0)) },
            onlyChannels: claim.onlyChannels)
    }

    /// Claims due work for `claim` and reports what it took; on the blocking pool.
    private func runClaim(_ claim: DeliveryScheduler.Claim) {
        let now = Timestamp.now()
        let claimed: [DeliveryRecord]
        do {
            claimed = try queue.claimDue(claimRequest(claim, now: now), now: now)
        } catch {
            logger.info("cannot claim deliveries; retrying in 1 s", ["error": String(describing: error)])
            return event { $0.claimFailed(claim, at: now) }
        }
        event { $0.claimed(claimed, for: claim, at: now) }
    }

    /// Sets `timer` for the scheduler's wake-up time as it is now, so that wake-ups asked
    /// for on several threads apply in any order; on `control`.
    private func armTimer() {
        guard let time = schedule.withLock({ $0.wakeAt }) else { return }
        // At most a minute: a due time from a record or a receiver can be anything, and the
        // claim the timer sets off sets it again.
        let wait = min(max(0, DeliveryArithmetic.difference(time.milliseconds, Timestamp.now().milliseconds)), 60_000)
        timer.schedule(deadline: .now() + .milliseconds(Int(wait) + 1))
    }

    /// Starts `delivery` in send slot `slot`: a webhook on `webhookWork` (its exchange holds
    /// no thread), an email on the blocking pool (its SMTP exchange does).
    private func startSend(_ delivery: DeliveryRecord, slot: Int) {
        let finished: @Sendable (Timestamp?, EndpointWindow.Answer?) -> Void = { [self] retryAt, answer in
            event { $0.sendFinished(slot: slot, channelID: delivery.channelID, retryAt: retryAt, answer: answer) }
        }
        let webhookWork = self.webhookWork
        guard delivery.channelType == .webhook else {
            // Refused only once the pool is shut down: the lease expires and it is sent again.
            return onBlocking({ [self] in attempt(delivery, on: webhookWork, done: finished) }, refused: { finished(nil, nil) })
        }
        webhookWork.async { [self] in attempt(delivery, on: webhookWork, done: finished) }
    }

    // MARK: One attempt

    /// One attempt at `delivery`, started on `sender` (an email's on the blocking pool, which
    /// passes `sender` but never uses it); `done` is called once the outcome is handed to the
    /// queue, whose commit the slot does not wait for, with the time of the next attempt when
    /// there will be one and what the endpoint's answer says about its capacity (a webhook's
    /// only). A webhook's exchange runs on the transport without holding a thread; what
    /// follows it comes back to `sender`.
    func attempt(_ delivery: DeliveryRecord, on sender: DispatchQueue, done: @escaping @Sendable (Timestamp?, EndpointWindow.Answer?) -> Void) {
        let now = Timestamp.now()
        let target: SendTarget
        do {
            switch try prepare(delivery) {
            case .settled(let outcome):
                return done(record(delivery, outcome, receivedAt: nil), nil)
            case .send(let prepared):
                target = prepared
            }
        } catch {
            logger.info("cannot decide a delivery; its lease will expire and it is sent again", ["delivery": delivery.id, "error": String(describing: error)])
            return done(nil, nil)
        }
        let conclude: @Sendable (DeliveryVerdict, EndpointWindow.Answer?) -> Void = { [self] verdict, answer in
            do {
                let outcome = try outcome(of: verdict, delivery, target, now: now)
                let settling = if case .delivered = outcome { target.digest?.entries.map(\.deliveryID) ?? [] } else { [String]() }
                done(record(delivery, outcome, settling: settling, receivedAt: target.alert.receivedAt), answer)
            } catch {
                logger.info("cannot decide a delivery; its lease will expire and it is sent again", ["delivery": delivery.id, "error": String(describing: error)])
                done(nil, answer)
            }
        }
        // Behind an open breaker nothing is sent but its one trial: a delivery claimed anyway
        // (critical ones are, and a claim made as the cool-down ended may take several) waits
        // for the next trial.
        let seconds = Double(now.milliseconds) / 1000
        guard breaker.allows(target.channel.id, now: seconds) else {
            let trial = breaker.blocked(now: seconds)[target.channel.id] ?? seconds + 1
            let wait = DeliveryArithmetic.difference(DeliveryArithmetic.milliseconds(fromSeconds: trial), now.milliseconds)
            return conclude(.held(notBeforeMilliseconds: max(0, wait)), nil)
        }
        switch target.channel.type {
        case .webhook:
            sendWebhook(delivery, target, now: now) { verdict, answer in sender.async { conclude(verdict, answer) } }
        case .email:
            conclude(sendEmail(delivery, target), nil)
        }
    }

    /// Hands `outcome` to the queue, without waiting for the commit; returns when the
    /// delivery is due again, if it will be. `receivedAt` is when the alert was received,
    /// for the delivery's latency (`nil`, now, when it was not read); `settling`, the
    /// gathered deliveries a delivered digest listed.
    @discardableResult
    private func record(_ delivery: DeliveryRecord, _ outcome: DeliveryOutcome, settling: [String] = [], receivedAt: Timestamp?) -> Timestamp? {
        let word = switch outcome {
        case .delivered: "delivered"
        case .retry: "retry"
        case .dead: "dead"
        case .cancelled: "cancelled"
        }
        let received = receivedAt ?? Timestamp.now()
        let events = self.events, logger = self.logger
        queue.complete(delivery.id, outcome: outcome, settling: settling, at: Timestamp.now()) { error in
            if let error {
                logger.info("cannot record a delivery outcome; its lease will expire and it is sent again", ["delivery": delivery.id, "error": String(describing: error)])
                return
            }
            events.attempted(delivery, word, Double(max(0, DeliveryArithmetic.difference(Timestamp.now().milliseconds, received.milliseconds))) / 1000)
            if case .delivered = outcome, case .escalation(let from) = delivery.followUp { events.escalated(delivery, from) }
            if case .cancelled(let reason) = outcome { logger.info("delivery cancelled", ["delivery": delivery.id, "reason": reason]) }
            if word == "dead" { logger.warning("delivery dead-lettered", ["delivery": delivery.id, "subscriber": delivery.subscriberID]) }
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
        /// The link acknowledging the alert for the subscriber, if it carries one.
        var ackURL: String? = nil
        /// For an `alert.acknowledged` report, the acknowledgement, its note left out below
        /// the alert's confidentiality.
        var acknowledgement: Acknowledgement? = nil
        /// For a digest, what it lists (`alert` is then its first alert).
        var digest: Digest? = nil
    }

    /// Why a claimed delivery cannot go to its receiver, as the outcome that settles it.
    struct Unsendable: Error {
        let outcome: DeliveryOutcome
    }

    /// What to do with a claimed delivery before anything is sent.
    enum Preparation: Sendable {
        /// Nothing to send: the outcome is known already.
        case settled(DeliveryOutcome)
        /// Send the alert, redacted for the subscriber, over the channel.
        case send(SendTarget)
    }

    /// The alert is read from the log each time: the log is the one cache of opened alerts
    /// (the embedded log keeps its newest appends opened, the Kafka log all it has read), and
    /// it drops what an erasure reaches, so a send after an erasure carries `[erased]`.
    private func prepare(_ delivery: DeliveryRecord) throws -> Preparation {
        do {
            if case .digest(let window) = delivery.followUp { return try prepareDigest(delivery, window: window) }
            return try prepareAlert(delivery)
        } catch let unsendable as Unsendable {
            return .settled(unsendable.outcome)
        }
    }

    /// The subscriber and channel `delivery` goes to; throws `Unsendable` when either is gone.
    private func addressee(of delivery: DeliveryRecord) throws -> (Subscriber, Channel) {
        guard let subscriber = try directory.subscriber(id: delivery.subscriberID) else { throw Unsendable(outcome: .dead(error: "the subscriber was deleted")) }
        guard let channel = subscriber.channels.first(where: { $0.id == delivery.channelID }) else {
            throw Unsendable(outcome: .dead(error: "the subscriber no longer has this channel"))
        }
        return (subscriber, channel)
    }

    /// The signing secrets of `channel` (none for email); throws `Unsendable` when the
    /// channel was disabled.
    private func secrets(of channel: Channel) throws -> [WebhookSecret] {
        if let reason = try directory.disabledReason(channelID: channel.id) { throw Unsendable(outcome: .dead(error: "the endpoint is disabled: \(reason)")) }
        return channel.type == .webhook ? try directory.secrets(channelID: channel.id).compactMap(WebhookSecret.init) : []
    }

    /// A digest: the alerts still gathered into its window, as the subscriber may read them.
    /// One whose alert left the log or whose filer excluded the subscriber is not listed
    /// (its own delivery settles it when it falls due); with none left, nothing is sent.
    private func prepareDigest(_ delivery: DeliveryRecord, window: DigestWindow) throws -> Preparation {
        let (subscriber, channel) = try addressee(of: delivery)
        var entries: [Digest.Entry] = []
        for member in try queue.gathered(into: delivery) {
            guard let stored = try log.alert(id: member.alertID), stored.alert.handling?.excludes(subscriber) != true else { continue }
            entries.append(Digest.Entry(
                deliveryID: member.id, alert: stored.alert.redacted(for: subscriber.clearance, language: subscriber.language),
                ackURL: configuration.ackURL(stored.alert.id, subscriber.id)))
        }
        guard let first = entries.first else { return .settled(.cancelled(reason: "no alert is left to send in this window")) }
        // The zone of the schedule that made this window (a subscriber may have digests in two zones).
        let schedules = subscriber.subscriptions.compactMap(\.digest)
        let timezone = (schedules.first { $0.window(containing: window.start) == window } ?? schedules.first)?.timezone ?? "UTC"
        var target = SendTarget(alert: first.alert, subscriber: subscriber, channel: channel, secrets: try secrets(of: channel))
        target.digest = Digest(window: window, timezone: timezone, entries: entries)
        return .send(target)
    }

    /// An alert's sending, first or follow-up.
    private func prepareAlert(_ delivery: DeliveryRecord) throws -> Preparation {
        guard let stored = try log.alert(id: delivery.alertID) else { return .settled(.dead(error: "the alert is no longer in the log")) }
        let (subscriber, channel) = try addressee(of: delivery)
        // Whether it is still wanted: a follow-up may have been answered, a case closed or cancelled.
        if stored.alert.handling?.excludes(subscriber) == true { return .settled(.cancelled(reason: "excluded by the filer")) }
        // Only a report of an acknowledgement, and a replay (asked for by an operator, the
        // case's cancel replayed with it), go whatever the case became.
        let readsCase = switch delivery.followUp {
        case .acknowledged: false
        case nil: delivery.replayID == nil
        default: true
        }
        if readsCase {
            let log = self.log
            let caseAlerts = try caseReadings.views(of: stored.alert.id) { try StillWanted.caseAlerts(of: stored, in: log) }
            if let reason = try StillWanted.cancellation(
                of: delivery, stored, caseAlerts: caseAlerts, ledger: acknowledgements, directory: directory)
            {
                return .settled(.cancelled(reason: reason))
            }
        }
        var target = SendTarget(
            alert: stored.alert.redacted(for: subscriber.clearance, language: subscriber.language), subscriber: subscriber, channel: channel,
            secrets: try secrets(of: channel))
        switch delivery.followUp {
        case .acknowledged(let by):
            // The report is recorded as the acknowledgement is; on Kafka the ledger is a
            // cache that may not hold it yet here, so wait a little for it.
            var ack = try acknowledgements?.acknowledgements(ofAlert: stored.alert.id).first { $0.subscriberID == by }
            if ack == nil, acknowledgements != nil, delivery.attempts < Self.acknowledgementWaits {
                return .settled(.retry(at: Timestamp.now().adding(milliseconds: 2000), error: "the acknowledgement is not readable here yet"))
            }
            if !subscriber.clearance.clears(stored.alert.confidentiality) { ack?.note = nil }
            target.acknowledgement = ack
        case .escalated:
            break  // a report to the filer, not the alert sent for action: nothing to acknowledge
        default:
            target.ackURL = configuration.ackURL(stored.alert.id, subscriber.id)
        }
        return .send(target)
    }

    /// How many claims of an `alert.acknowledged` report wait for its acknowledgement to be
    /// readable before the report goes without it.
    static let acknowledgementWaits = 10

    /// What a send's verdict means for the delivery (`DeliveryPolicy`), with what goes with
    /// it: the breaker told, its owner emailed when it opens, the critical fallback email, a
    /// gone endpoint's channel disabled.
    private func outcome(of verdict: DeliveryVerdict, _ delivery: DeliveryRecord, _ target: SendTarget, now: Timestamp) throws -> DeliveryOutcome {
        let (subscriber, channel) = (target.subscriber, target.channel)
        switch verdict {
        case .delivered:
            breaker.recordSuccess(channel.id)
        case .retry(let reason, _):
            if breaker.recordFailure(channel.id, now: Double(now.milliseconds) / 1000) {
                events.breakerOpened(subscriber.id, channel.id)
                logger.warning("circuit breaker opened; the owner is told", ["subscriber": subscriber.id, "channel": channel.id])
                notifyOwner(subscriber, channel: channel, reason: reason)
            }
        case .gone, .permanent, .held:
            break
        }
        var history = DeliveryPolicy.Attempt(
            severity: delivery.severity, channelType: channel.type, attempts: delivery.attempts, firstAttemptAt: nil,
            subscriberHasEmail: subscriber.channels.contains { $0.type == .email })
        if policy.sendsCriticalFallback(verdict, history) { emailFallback(delivery, target) }
        if DeliveryPolicy.needsHistory(verdict) { history.firstAttemptAt = try queue.firstAttempt(of: delivery.id) }
        var generator = SystemRandomNumberGenerator()
        let decision = policy.decision(on: verdict, history, now: now, using: &generator)
        if case .disable(let channelReason, _) = decision {
            try directory.disable(channelID: channel.id, reason: channelReason)
            logger.info("endpoint answered 410 Gone; channel disabled", ["subscriber": subscriber.id, "channel": channel.id])
        }
        return decision.outcome
    }

    /// Signs and POSTs the alert to `url`, after checking where the address leads; `verdict`
    /// is called once, on the transport's thread when a request went out.
    private func sendWebhook(_ delivery: DeliveryRecord, _ target: SendTarget, now: Timestamp, verdict: @escaping @Sendable (DeliveryVerdict, EndpointWindow.Answer?) -> Void) {
        let url = target.channel.url ?? "", secrets = target.secrets
        let pinned: (host: String, port: Int, address: String)
        switch addresses.check(url) {
        case .failure(.unresolvable(let host)):  // DNS trouble may pass; an internal address will not
            return verdict(.retry(reason: AddressRefusal.unresolvable(host).description, notBeforeMilliseconds: nil), nil)
        case .failure(let refusal): return verdict(.permanent(reason: refusal.description), nil)
        case .success(let checked): pinned = checked
        }
        guard !secrets.isEmpty else { return verdict(.permanent(reason: "the channel has no signing secret"), nil) }
        let request = WebhookRequest.signed(
            delivery, alert: target.alert, url: url, secrets: secrets, now: now, timeoutMilliseconds: configuration.webhookTimeoutMilliseconds,
            pinnedAddress: pinned, ackURL: target.ackURL, acknowledgement: target.acknowledgement, digest: target.digest)
        let slow = configuration.slowAnswerMilliseconds
        transport.post(request) { result in verdict(DeliveryVerdict.of(result), EndpointWindow.Answer.of(result, slowMilliseconds: slow)) }
    }

    private func sendEmail(_ delivery: DeliveryRecord, _ target: SendTarget) -> DeliveryVerdict {
        guard let smtp = configuration.smtp else { return .retry(reason: "no SMTP relay is configured (smtp_url)", notBeforeMilliseconds: nil) }
        let message = target.digest.map {
            DigestEmail.message($0, to: target.channel.address ?? "", language: target.subscriber.language, deliveryID: delivery.id, from: smtp.from)
        } ?? AlertEmail.message(
            alert: target.alert, to: target.channel.address ?? "", language: target.subscriber.language, deliveryID: delivery.id, from: smtp.from,
            replay: delivery.replayID != nil, followUp: delivery.followUp, ackURL: target.ackURL, acknowledgement: target.acknowledgement)
        switch smtp.send(message) {
        case .success: return .delivered
        case .failure(.permanent(let why)): return .permanent(reason: why)
        case .failure(.transient(let why)): return .retry(reason: why, notBeforeMilliseconds: nil)
        }
    }

    /// Emails the subscriber's contact that a breaker opened; best effort, never blocks a send.
    private func notifyOwner(_ subscriber: Subscriber, channel: Channel, reason: String) {
        guard let smtp = configuration.smtp else { return }
        let message = BreakerNoticeEmail.message(
            to: subscriber.contact, subscriberName: subscriber.name, language: subscriber.language, channelID: channel.id,
            target: channel.target, reason: reason, from: smtp.from)
        onBlocking({ [logger] in
            if case .failure(let error) = smtp.send(message) {
                logger.info("could not tell the owner that a breaker opened", ["subscriber": subscriber.id, "error": error.description])
            }
        }, refused: {})
    }

    /// A critical alert whose webhook keeps failing also goes to the subscriber's contact.
    private func emailFallback(_ delivery: DeliveryRecord, _ target: SendTarget) {
        guard let smtp = configuration.smtp else { return }
        let subscriber = target.subscriber
        let message = AlertEmail.message(
            alert: target.alert, to: subscriber.contact, language: subscriber.language, deliveryID: delivery.id + "-fallback", from: smtp.from,
            followUp: delivery.followUp, ackURL: target.ackURL, acknowledgement: target.acknowledgement)
        onBlocking({ [logger] in
            if case .failure(let error) = smtp.send(message) {
                logger.info("critical fallback email failed", ["subscriber": subscriber.id, "error": error.description])
            } else {
                logger.info("critical alert sent to the contact by email while the webhook fails", ["subscriber": subscriber.id, "delivery": delivery.id])
            }
        }, refused: {})
    }
}
