import Foundation
import VigilCore
import VigilCrypto
import VigilObservability

/// The ingest path every way in shares: a submission is validated for its filer, an update
/// or cancel is checked against its case, and the alert is appended to the log under its
/// idempotency claim. `POST /v1/alerts` and the Kafka router's intake of outside alert JSON
/// both file through it and map its `Outcome` to their own answer (an HTTP status, a record
/// on `vigil.alerts.invalid`).
///
/// It counts what both ways count (`vigil_alerts_rejected_total{reason="validation"}` for a
/// submission that does not validate, `vigil_alerts_received_total` for a first filing);
/// what only one way counts, audits or logs stays with that caller.
public struct AlertIntake: Sendable {
    /// The log alerts are filed into.
    public let log: any AlertLog
    /// The key of idempotency fingerprints (an HMAC of the body, not a bare hash).
    let fingerprintKey: [UInt8]
    let metrics: Metrics

    /// An intake into `log` whose fingerprints are keyed by `fingerprintKey`.
    public init(log: any AlertLog, fingerprintKey: [UInt8], metrics: Metrics) {
        self.log = log
        self.fingerprintKey = fingerprintKey
        self.metrics = metrics
    }

    /// An intake into `log` whose fingerprints are keyed by a key derived from `masterKey`.
    public init(log: any AlertLog, masterKey: MasterKey, metrics: Metrics) {
        self.init(log: log, fingerprintKey: masterKey.derivedKey("vigil/idempotency-fingerprints"), metrics: metrics)
    }

    /// Who files a submission, which decides the organisation it is filed for and whether it
    /// may update or cancel another organisation's case.
    public enum Filer: Sendable {
        /// A token's holder: the alert is filed for the token's organisation.
        case token(organisation: String, isOperator: Bool)
        /// No token (an outside Kafka producer): the body's `source.organisation` names the
        /// filer and is required; only the case's own organisation updates or cancels it.
        case body
    }

    /// What filing a submission came to.
    public enum Outcome: Sendable {
        /// Appended (or, `receipt.repeated`, a retry of an earlier filing with the same claim).
        case accepted(Alert, AppendReceipt)
        /// The submission is not a valid alert for its filer.
        case invalid(ValidationFailure)
        /// An update or cancel its filer may not make (the case is unknown or another's).
        case refused(Alert, CaseRefusal)
        /// The log could not be read to check the case.
        case unreadable(any Error)
        /// The append failed (`idempotencyConflict`: the claim's key was used for another body).
        case notStored(AlertLogError)
    }

    /// The idempotency fingerprint of `body`: an HMAC under `fingerprintKey`, hex-encoded.
    public func fingerprint(_ body: [UInt8]) -> String { Hex.encode(HMAC.sha256(key: fingerprintKey, message: body)) }

    /// The claim that files `body` once under `key` for `organisation`.
    public func claim(organisation: String, key: String, body: [UInt8]) -> IdempotencyClaim {
        IdempotencyClaim(organisation: organisation, key: key, fingerprint: fingerprint(body))
    }

    /// Validates `body` for `filer`, checks its case, and appends it under `claim`;
    /// `completion` hears the outcome (at once when the alert is not appended, otherwise when
    /// the log says the append is durable).
    public func file(_ body: [UInt8], by filer: Filer, claim: IdempotencyClaim?, completion: @escaping @Sendable (Outcome) -> Void) {
        let alert: Alert
        switch checked(body, by: filer) {
        case .success(let admitted): alert = admitted
        case .failure(let refusal): return completion(refusal.outcome)
        }
        let metrics = self.metrics
        log.append(alert, idempotency: claim) { result in completion(Self.outcome(of: result, for: alert, metrics: metrics)) }
    }

    /// `file` for many submissions at once (`POST /v1/alerts/batch`): each is validated and
    /// checked on its own, and those that pass are appended together in one durable write
    /// (`AlertLog.appendAll`); `completion` hears one outcome per submission, in order, once
    /// that write is durable.
    public func fileAll(_ submissions: [(body: [UInt8], claim: IdempotencyClaim?)], by filer: Filer, completion: @escaping @Sendable ([Outcome]) -> Void) {
        var outcomes = [Outcome?](repeating: nil, count: submissions.count)
        var admitted: [(index: Int, alert: Alert, claim: IdempotencyClaim?)] = []
        for (index, submission) in submissions.enumerated() {
            switch checked(submission.body, by: filer) {
            case .success(let alert): admitted.append((index, alert, submission.claim))
            case .failure(let refusal): outcomes[index] = refusal.outcome
            }
        }
        let metrics = self.metrics, decided = outcomes, appended = admitted
        log.appendAll(admitted.map { ($0.alert, $0.claim) }) { results in
            var answers = decided
            for (entry, result) in zip(appended, results) { answers[entry.index] = Self.outcome(of: result, for: entry.alert, metrics: metrics) }
            completion(answers.map { $0 ?? .notStored(.unavailable("no answer from the log")) })
        }
    }

    /// Why a submission is not appended, as the outcome its filer hears.
    struct Refusal: Error {
        let outcome: Outcome
    }

    /// The alert `body` files for `filer`, validated and with the right to its case checked.
    private func checked(_ body: [UInt8], by filer: Filer) -> Result<Alert, Refusal> {
        let alert: Alert
        switch admit(body, by: filer) {
        case .success(let admitted): alert = admitted
        case .failure(let failure):
            metrics.increment("vigil_alerts_rejected_total", labels: "reason=\"validation\"")
            return .failure(Refusal(outcome: .invalid(failure)))
        }
        let byOperator: Bool
        switch filer {
        case .token(_, let isOperator): byOperator = isOperator
        case .body: byOperator = false
        }
        do {
            if let refusal = try CaseRights.refusal(of: alert, in: log, byOperator: byOperator) { return .failure(Refusal(outcome: .refused(alert, refusal))) }
        } catch {
            return .failure(Refusal(outcome: .unreadable(error)))
        }
        return .success(alert)
    }

    /// The outcome of appending `alert`, counted.
    private static func outcome(of result: Result<AppendReceipt, AlertLogError>, for alert: Alert, metrics: Metrics) -> Outcome {
        switch result {
        case .success(let receipt):
            if !receipt.repeated { metrics.increment("vigil_alerts_received_total", labels: "severity=\"\(alert.severity.rawValue)\"") }
            return .accepted(alert, receipt)
        case .failure(let error):
            return .notStored(error)
        }
    }

    /// The alert `body` describes, filed now for `filer`, or every problem with it.
    private func admit(_ body: [UInt8], by filer: Filer) -> Result<Alert, ValidationFailure> {
        do throws(ValidationFailure) {
            let submission = try AlertSubmission(json: body)
            let receivedAt = Timestamp.now()
            switch filer {
            case .token(let organisation, _):
                return .success(try submission.validate(id: ULID(time: receivedAt), receivedAt: receivedAt, organisation: organisation))
            case .body:
                var organisation = ""
                if case .object(let fields) = submission.body, case .object(let source)? = fields["source"],
                    case .string(let claimed)? = source["organisation"] {
                    organisation = claimed
                }
                do throws(ValidationFailure) {
                    let alert = try submission.validate(id: ULID(time: receivedAt), receivedAt: receivedAt, organisation: organisation)
                    if organisation.isEmpty { throw ValidationFailure([]) }
                    return .success(alert)
                } catch {
                    // No token names the filer here, so the body must; report that with every other problem.
                    let missing = organisation.isEmpty
                        ? [FieldError("source.organisation", "is required on alerts written straight to Kafka (no token names the filer)")] : []
                    throw ValidationFailure(error.fields + missing)
                }
            }
        } catch {
            return .failure(error)
        }
    }
}
