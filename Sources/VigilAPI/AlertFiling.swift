import Dispatch
import VigilCore
import VigilObservability
import VigilStore

/// Files one alert for a caller: the one path behind `POST /v1/alerts` and the console's
/// filing form, so both validate, refuse, audit and count the same way. The caller turns the
/// outcome into its own answer (JSON or a page).
public struct AlertFiling: Sendable {
    let intake: AlertIntake
    let audit: AuditTrail
    let metrics: Metrics
    let logger: Logger

    /// A filing path over `intake`, recording in `audit` and `metrics`.
    public init(intake: AlertIntake, audit: AuditTrail, metrics: Metrics, logger: Logger) {
        self.intake = intake
        self.audit = audit
        self.metrics = metrics
        self.logger = logger
    }

    /// Whether `key` can be an idempotency key: 1 to 200 visible ASCII characters.
    public static func isValidIdempotencyKey(_ key: String) -> Bool {
        (1...200).contains(key.utf8.count) && key.unicodeScalars.allSatisfy { $0.value > 32 && $0.value < 127 }
    }

    /// Validates `body` (an alert as JSON) and appends it for `caller`; `completion` gets the
    /// receipt once the append is durable, or the error to show. A repeated `idempotencyKey`
    /// with the same body answers the first receipt (`repeated`), with another body a conflict.
    public func file(
        _ body: [UInt8], by caller: TokenRecord, idempotencyKey: String?, completion: @escaping @Sendable (Result<AppendReceipt, APIError>) -> Void
    ) {
        let started = DispatchTime.now()
        if let idempotencyKey, !Self.isValidIdempotencyKey(idempotencyKey) {
            return completion(.failure(.badRequest("Idempotency-Key must be 1 to 200 visible ASCII characters")))
        }
        let claim = idempotencyKey.map { intake.claim(organisation: caller.organisation, key: $0, body: body) }
        intake.file(body, by: .token(organisation: caller.organisation, isOperator: caller.isOperator), claim: claim) { [self] outcome in
            completion(answer(outcome, by: caller, started: started))
        }
    }

    /// Most alerts one batch may carry.
    public static let maxBatch = 1000

    /// `file` for a batch (`POST /v1/alerts/batch`): each alert validated, checked and
    /// audited on its own, those that pass appended in one durable write; `completion` gets
    /// one answer per alert, in order. An invalid `idempotencyKey` refuses its alert alone.
    public func fileAll(
        _ items: [(body: [UInt8], idempotencyKey: String?)], by caller: TokenRecord,
        completion: @escaping @Sendable ([Result<AppendReceipt, APIError>]) -> Void
    ) {
        let started = DispatchTime.now()
        var answers = [Result<AppendReceipt, APIError>?](repeating: nil, count: items.count)
        var submitted: [(index: Int, body: [UInt8], claim: IdempotencyClaim?)] = []
        for (index, item) in items.enumerated() {
            if let key = item.idempotencyKey, !Self.isValidIdempotencyKey(key) {
                answers[index] = .failure(.validation(ValidationFailure([FieldError("idempotency_key", "must be 1 to 200 visible ASCII characters")])))
                continue
            }
            submitted.append((index, item.body, item.idempotencyKey.map { intake.claim(organisation: caller.organisation, key: $0, body: item.body) }))
        }
        let decided = answers, sent = submitted
        intake.fileAll(submitted.map { ($0.body, $0.claim) }, by: .token(organisation: caller.organisation, isOperator: caller.isOperator)) {
            [self] outcomes in
            var all = decided
            for (entry, outcome) in zip(sent, outcomes) { all[entry.index] = answer(outcome, by: caller, started: started) }
            completion(all.map { $0 ?? .failure(.unavailable("the alert was not stored")) })
        }
    }

    /// What a filing's outcome answers `caller`, audited and counted.
    private func answer(_ outcome: AlertIntake.Outcome, by caller: TokenRecord, started: DispatchTime) -> Result<AppendReceipt, APIError> {
        switch outcome {
        case .invalid(let failure), .refused(_, .unknown(let failure)):
            return .failure(.validation(failure))
        case .refused(let alert, .notFiler):
            audit.record([AuditEntry(
                caller, .accessRefused, target: alert.caseID, detail: "\(alert.kind.rawValue) of a case another organisation filed refused")])
            return .failure(.forbidden("case \(alert.caseID) was filed by another organisation; only it or an operator may \(alert.kind.rawValue) it"))
        case .unreadable:
            return .failure(.unavailable("the alert log cannot be read right now"))
        case .accepted(let alert, let receipt):
            if !receipt.repeated {
                var entries = [AuditEntry(caller, .alertFiled, target: receipt.id, detail: "offset \(receipt.offset)")]
                if let status = alert.caseStatus {
                    entries.append(AuditEntry(
                        caller, .caseStatusChanged, target: alert.caseID, detail: "\(status.rawValue), by \(alert.kind.rawValue) \(receipt.id)"))
                }
                audit.record(entries, withNextWrite: true)
            }
            metrics.observe("vigil_ingest_seconds", Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9)
            return .success(receipt)
        case .notStored(.idempotencyConflict(let key)):
            return .failure(.conflict(AlertLogError.idempotencyConflict(key: key).description))
        case .notStored(let error):
            metrics.increment("vigil_alerts_rejected_total", labels: "reason=\"unavailable\"")
            logger.error("append failed; answering 503", ["reason": error.description])
            return .failure(.unavailable("the alert was not stored: \(error.description)"))
        }
    }
}
