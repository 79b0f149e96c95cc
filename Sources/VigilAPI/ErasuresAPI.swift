import Foundation
import VigilCore
import VigilHTTP
import VigilObservability
import VigilStore

/// `POST /v1/erasures` (scope `subscribers:admin`), body `{"alert_id": …}` or
/// `{"case_id": …}`: deletes the data keys of the alert or of every alert of the case, so
/// their identities read as `[erased]` in the API, in every later delivery and replay, and
/// in any copy of the log.
struct ErasuresAPI: Sendable {
    let log: any AlertLog
    let authenticator: Authenticator
    let audit: AuditTrail
    let logger: Logger

    func register(on router: inout HTTPRouter) {
        router.add(Self.eraseOperation) { request, responder in erase(request, responder) }
    }

    /// The contract of each route `register` adds.
    static var operations: [APIOperation] { [eraseOperation] }

    static let eraseOperation = APIOperation(
        "POST", "/v1/erasures", id: "erase", tag: "erasures",
        summary: "Erase the identities of an alert or of every alert of a case (their data keys are deleted)", access: .token(.subscribersAdmin),
        body: [.json(.oneOf([
            .object(["alert_id": .string(minLength: 1)], required: ["alert_id"], closed: true),
            .object(["case_id": .string(minLength: 1)], required: ["case_id"], closed: true),
        ]))],
        responses: [
            .json(200, "the alerts erased", .object(["erased": .array(.string(), minItems: 1)], required: ["erased"])),
            .error(403, "the alert was filed by another organisation and the token is not an operator's"),
            .error(404, "no alert matches"), .validation("the body names neither or both of alert_id and case_id"),
        ])

    private struct Answer: Encodable {
        let erased: [String]
    }

    private func erase(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let token = authenticator.require(.subscribersAdmin, request, responder) else { return }
        let target: ErasureTarget
        do {
            guard case .object(let fields) = try JSONParser.parse(request.body) else {
                throw ValidationFailure([FieldError("", "must be a JSON object with alert_id or case_id")])
            }
            switch (fields["alert_id"], fields["case_id"], fields.count) {
            case (.string(let id)?, nil, 1) where !id.isEmpty: target = .alert(id)
            case (nil, .string(let id)?, 1) where !id.isEmpty: target = .caseID(id)
            default: throw ValidationFailure([FieldError("", "must hold exactly one of alert_id or case_id, as a non-empty string")])
            }
        } catch let failure as ValidationFailure {
            return responder.send(APIError.validation(failure).response)
        } catch {
            return responder.send(APIError.validation(ValidationFailure([FieldError("", "is not valid JSON: \(error)")])).response)
        }
        do {
            if !token.isOperator, let owner = try Self.owner(of: target, in: log), owner != token.organisation {
                audit.record([AuditEntry(token, .accessRefused, target: Self.describe(target), detail: "erasure of another organisation's alert refused")])
                logger.warning("erasure of another organisation's alert refused", ["token": token.id])
                return responder.send(APIError.forbidden(
                    "\(Self.describe(target)) was filed by another organisation; only it or an operator (subscribers:admin with confidential clearance) may erase it").response)
            }
            let erased = try log.erase(target)
            guard !erased.isEmpty else {
                return responder.send(APIError.notFound("no alert matches \(Self.describe(target))").response)
            }
            audit.record(erased.map { AuditEntry(token, .alertErased, target: $0, detail: Self.describe(target)) })
            logger.info("identities erased", ["alerts": String(erased.count), "target": Self.describe(target)])
            responder.send(APIResponse.json(200, Answer(erased: erased)))
        } catch {
            responder.send(APIError.unavailable("the erasure was not made: \(error)").response)
        }
    }

    /// The organisation that filed the alert, or the case's first alert; `nil` when there is none.
    static func owner(of target: ErasureTarget, in log: any AlertLog) throws -> String? {
        switch target {
        case .alert(let id): try log.alert(id: id)?.alert.source.organisation
        case .caseID(let id): try log.alerts(matching: AlertQuery(caseID: id, limit: 1)).first?.alert.source.organisation
        }
    }

    static func describe(_ target: ErasureTarget) -> String {
        switch target {
        case .alert(let id): "alert \(id)"
        case .caseID(let id): "case \(id)"
        }
    }
}
