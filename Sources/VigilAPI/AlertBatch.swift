import Foundation
import VigilCore
import VigilHTTP

/// The body and answer of `POST /v1/alerts/batch` (issue 22): `{"alerts": [...]}` with up to
/// `AlertFiling.maxBatch` alerts, each as `POST /v1/alerts` takes one plus an optional
/// `idempotency_key`; the answer lists one result per alert, in order.
struct AlertBatch: Sendable {
    /// Each alert's JSON (without its `idempotency_key`) and that key.
    let items: [(body: [UInt8], idempotencyKey: String?)]

    /// Reads `bytes`; a body that is not such an object, an empty list or one longer than
    /// the limit is refused as a whole (`422` naming `alerts`), an item that is not an object
    /// or whose key is not a string is refused by field path as well.
    init(json bytes: [UInt8]) throws(APIError) {
        guard case .object(let fields)? = try? JSONParser.parse(bytes) else {
            throw .validation(ValidationFailure([FieldError("$", "expected a JSON object {\"alerts\": [...]}")]))
        }
        if let unknown = fields.keys.first(where: { $0 != "alerts" }) {
            throw .validation(ValidationFailure([FieldError(unknown, "is not a field of a batch; send {\"alerts\": [...]}")]))
        }
        guard case .array(let alerts)? = fields["alerts"], !alerts.isEmpty else {
            throw .validation(ValidationFailure([FieldError("alerts", "must be a list of 1 to \(AlertFiling.maxBatch) alerts")]))
        }
        guard alerts.count <= AlertFiling.maxBatch else {
            throw .validation(ValidationFailure([FieldError("alerts", "holds \(alerts.count) alerts; at most \(AlertFiling.maxBatch) per batch")]))
        }
        var items: [(body: [UInt8], idempotencyKey: String?)] = []
        var problems: [FieldError] = []
        for (index, alert) in alerts.enumerated() {
            guard case .object(var object) = alert else {
                problems.append(FieldError("alerts[\(index)]", "expected an alert object, got \(alert.typeName)"))
                continue
            }
            var key: String?
            switch object.removeValue(forKey: "idempotency_key") {
            case nil, .null?: break
            case .string(let text)?: key = text
            case let other?: problems.append(FieldError("alerts[\(index)].idempotency_key", "expected a string, got \(other.typeName)"))
            }
            items.append((Array((try? VigilJSON.encode(JSONValue.object(object))) ?? Data()), key))
        }
        guard problems.isEmpty else { throw .validation(ValidationFailure(problems)) }
        self.items = items
    }

    /// One alert's result in the answer.
    struct Result: Encodable {
        let index: Int
        let status: Int
        var id: String?
        var offset: Int64?
        var error: String?
        var message: String?
        var fields: [FieldError]?
    }

    /// The `200` answer: `{"accepted", "refused", "results": [...]}`, each result the status
    /// and body a single `POST /v1/alerts` of that alert would have answered (`202` with `id`
    /// and `offset`, or the error with its `fields` or `message`), with its `index`.
    static func response(_ outcomes: [Swift.Result<AppendReceipt, APIError>]) -> HTTPResponse {
        let results = outcomes.enumerated().map { index, outcome -> Result in
            switch outcome {
            case .success(let receipt):
                return Result(index: index, status: 202, id: receipt.id, offset: receipt.offset)
            case .failure(let error):
                var result = Result(index: index, status: error.status, error: error.code)
                if case .validation(let failure) = error { result.fields = failure.fields } else { result.message = error.message }
                return result
            }
        }
        struct Body: Encodable {
            let accepted: Int
            let refused: Int
            let results: [Result]
        }
        let accepted = results.filter { $0.status == 202 }.count
        return APIResponse.json(200, Body(accepted: accepted, refused: results.count - accepted, results: results))
    }
}
