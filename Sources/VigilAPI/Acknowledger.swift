import Foundation
import VigilCore
import VigilObservability
import VigilStore

/// Records acknowledgements (issue 19), whichever way they come in (the signed link, the API):
/// checks the filer's handling instructions, keeps one acknowledgement per (alert, subscriber)
/// in the ledger, and on the first one tells the filing organisation's `reports` subscribers
/// (`alert.acknowledged`, deliveries due now) and observes the time it took. Every
/// acknowledgement is audited; the note never is.
public struct Acknowledger: Sendable {
    /// Longest note, in characters.
    public static let maxNoteCharacters = 2000

    let log: any AlertLog
    let ledger: any AcknowledgementLedger
    let subscribers: SubscriberRegistry
    let deliveries: any DeliveryQueue
    let workers: any DeliveryWorkers
    let audit: AuditTrail
    let metrics: Metrics
    let logger: Logger

    /// An acknowledger recording in `ledger`, reporting through `deliveries` and poking `workers`.
    public init(
        log: any AlertLog, ledger: any AcknowledgementLedger, subscribers: SubscriberRegistry, deliveries: any DeliveryQueue,
        workers: any DeliveryWorkers, audit: AuditTrail, metrics: Metrics, logger: Logger
    ) {
        self.log = log
        self.ledger = ledger
        self.subscribers = subscribers
        self.deliveries = deliveries
        self.workers = workers
        self.audit = audit
        self.metrics = metrics
        self.logger = logger
    }

    /// Buckets of `vigil_time_to_ack_seconds`: from seconds (tests, a desk at its screen) to three days.
    static let timeToAckBuckets: [Double] = [1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400, 259_200]

    /// What a caller asks to record, checked.
    struct Request {
        var action: AckAction
        var note: String?
    }

    /// The action and note of a request body: `action` (default `seen`) and `note` from a JSON
    /// object or a form; unknown actions and overlong or control-character notes are refused.
    static func request(action: String?, note: String?) -> Result<Request, ValidationFailure> {
        var problems: [FieldError] = []
        var parsed = AckAction.seen
        if let action {
            if let known = AckAction(rawValue: action) {
                parsed = known
            } else {
                problems.append(FieldError("action", "must be one of \(AckAction.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
        }
        var cleaned: String?
        if let note {
            let trimmed = note.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.count > maxNoteCharacters {
                problems.append(FieldError("note", "must be at most \(maxNoteCharacters) characters"))
            } else if trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" && $0 != "\t" }) {
                problems.append(FieldError("note", "must not contain control characters other than line breaks and tabs"))
            } else if !trimmed.isEmpty {
                cleaned = trimmed.replacingOccurrences(of: "\r\n", with: "\n")
            }
        }
        guard problems.isEmpty else { return .failure(ValidationFailure(problems)) }
        return .success(Request(action: parsed, note: cleaned))
    }

    /// Who is acknowledging, for the audit trail: a token, or the signed link of a subscriber.
    struct Actor {
        let tokenID: String
        let organisation: String
    }

    /// Records a caller's acknowledgement of alert `alertID` for its subscriber `subscriberID`:
    /// the one path behind `POST /v1/alerts/{id}/acks` and the console's form. `action`
    /// (default `seen`) and `note` are checked; the subscriber must be the caller's
    /// organisation's (operators may act for any) and a recipient of the alert.
    public func acknowledge(
        alertID: String, subscriberID: String, action: String?, note: String?, by caller: TokenRecord, via: Acknowledgement.Via,
        now: Timestamp = .now()
    ) -> Result<(ack: Acknowledgement, first: Bool), APIError> {
        let checked: Request
        switch Self.request(action: action, note: note) {
        case .success(let request): checked = request
        case .failure(let failure): return .failure(.validation(failure))
        }
        do {
            guard let stored = try log.alert(id: alertID) else { return .failure(.notFound("no alert with id '\(alertID)'")) }
            guard let subscriber = try subscribers.subscriber(id: subscriberID) else {
                return .failure(.validation(ValidationFailure([FieldError("subscriber_id", "no subscriber with id '\(subscriberID)'")])))
            }
            guard caller.isOperator || subscriber.organisation == caller.organisation else {
                audit.record([AuditEntry(
                    caller, .accessRefused, target: alertID, detail: "acknowledgement for another organisation's subscriber \(subscriber.id) refused")])
                return .failure(.forbidden(
                    "subscriber \(subscriber.id) belongs to another organisation; acknowledge for your own organisation's subscribers"))
            }
            guard try deliveries.deliveries(ofAlert: alertID).contains(where: { $0.subscriberID == subscriber.id && $0.state != .skipped }) else {
                return .failure(.validation(ValidationFailure([
                    FieldError("subscriber_id", "subscriber \(subscriber.id) was not sent alert \(alertID); only its recipients acknowledge it")
                ])))
            }
            return acknowledge(checked, on: stored, by: subscriber, via: via, actor: Actor(tokenID: caller.id, organisation: caller.organisation), now: now)
        } catch {
            return .failure(.unavailable("the alert or its deliveries cannot be read right now"))
        }
    }

    /// Records `request` by `subscriber` on `stored`; the acknowledgement and whether it was
    /// the first, or the error to answer (`409` naming the instruction the action contradicts).
    func acknowledge(
        _ request: Request, on stored: StoredAlert, by subscriber: Subscriber, via: Acknowledgement.Via, actor: Actor, now: Timestamp = .now()
    ) -> Result<(ack: Acknowledgement, first: Bool), APIError> {
        let alert = stored.alert
        if let instruction = alert.handling?.forbids(request.action) {
            return .failure(.handlingConflict(
                instruction: instruction,
                "the filer's handling instructions say \(instruction): '\(request.action.rawValue)' is not an action you may take on this alert; choose another"))
        }
        var ack = Acknowledgement(
            alertID: alert.id, subscriberID: subscriber.id, organisation: subscriber.organisation, kind: subscriber.kind, action: request.action,
            at: now, via: via, note: request.note)
        let first: Bool
        do {
            // An update that says nothing new keeps the note given earlier.
            if ack.note == nil { ack.note = try ledger.acknowledgements(ofAlert: alert.id).first { $0.subscriberID == subscriber.id }?.note }
            first = try ledger.acknowledge(ack)
        } catch {
            logger.error("an acknowledgement could not be recorded", ["alert": alert.id, "subscriber": subscriber.id, "reason": "\(error)"])
            return .failure(.unavailable("the acknowledgement could not be recorded right now; try again"))
        }
        audit.record([AuditEntry(
            at: now, tokenID: actor.tokenID, organisation: actor.organisation, action: .alertAcknowledged, target: alert.id,
            detail: "subscriber \(subscriber.id) (\(subscriber.organisation)) \(first ? "acknowledged" : "updated its acknowledgement"): "
                + "\(request.action.rawValue) via \(via.rawValue)")])
        if first {
            let seconds = max(0, Double(now.milliseconds - alert.receivedAt.milliseconds) / 1000)
            metrics.observe(
                "vigil_time_to_ack_seconds", labels: "kind=\"\(subscriber.kind.rawValue)\",severity=\"\(alert.severity.rawValue)\"", seconds,
                buckets: Self.timeToAckBuckets)
            report(ack, of: stored, now: now)
        }
        return .success((ack, first))
    }

    /// The filing organisation's `reports` subscribers are told of a first acknowledgement:
    /// `acknowledged(by:)` deliveries due now, recorded like the router's (a repeated record
    /// changes nothing), then the workers are poked.
    private func report(_ ack: Acknowledgement, of stored: StoredAlert, now: Timestamp) {
        let alert = stored.alert
        guard alert.status != .test else { return }
        do {
            let reporters = try subscribers.list().filter {
                $0.reports && $0.organisation == alert.source.organisation && alert.handling?.excludes($0) != true
            }
            let reports = reporters.flatMap { reporter in
                reporter.channels.map { channel in
                    RoutedDelivery(
                        alertID: alert.id, alertOffset: stored.offset, subscriberID: reporter.id, channelID: channel.id, channelType: channel.type,
                        clearance: reporter.clearance, severity: alert.severity, reason: .followUp, initialState: .pending,
                        followUp: .acknowledged(by: ack.subscriberID), dueAt: now)
                }
            }
            guard !reports.isEmpty else { return }
            try deliveries.record(reports)
            workers.poke()
        } catch {
            logger.error(
                "the filer's reports of an acknowledgement could not be recorded",
                ["alert": alert.id, "subscriber": ack.subscriberID, "reason": "\(error)", "advice": "the acknowledgement itself is recorded"])
        }
    }
}
