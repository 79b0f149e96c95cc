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
        let metrics = self.metrics, logger = self.logger, audit = self.audit
        intake.file(body, by: .token(organisation: caller.organisation, isOperator: caller.isOperator), claim: claim) { outcome in
            switch outcome {
            case .invalid(let failure), .refused(_, .unknown(let failure)):
                completion(.failure(.validation(failure)))
            case .refused(let alert, .notFiler):
                audit.record([AuditEntry(
                    caller, .accessRefused, target: alert.caseID, detail: "\(alert.kind.rawValue) of a case another organisation filed refused")])
                completion(.failure(.forbidden(
                    "case \(alert.caseID) was filed by another organisation; only it or an operator may \(alert.kind.rawValue) it")))
            case .unreadable:
                completion(.failure(.unavailable("the alert log cannot be read right now")))
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
                completion(.success(receipt))
            case .notStored(.idempotencyConflict(let key)):
                completion(.failure(.conflict(AlertLogError.idempotencyConflict(key: key).description)))
            case .notStored(let error):
                metrics.increment("vigil_alerts_rejected_total", labels: "reason=\"unavailable\"")
                logger.error("append failed; answering 503", ["reason": error.description])
                completion(.failure(.unavailable("the alert was not stored: \(error.description)")))
            }
        }
    }
}
