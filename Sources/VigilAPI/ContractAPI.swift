import Foundation
import VigilCore
import VigilHTTP

/// `GET /openapi.json`: the API contract, with no token (like `/healthz`), so tools can read
/// it before they hold one. Built once per `public_url`: the routes do not change while the
/// service runs.
struct ContractAPI: Sendable {
    /// Every operation the service serves, this one included.
    let operations: [APIOperation]
    /// The service's `public_url` as it stands.
    let publicURL: @Sendable () -> String

    /// The contract of the route `register` adds.
    static var operations: [APIOperation] { [contractOperation] }

    static let contractOperation = APIOperation(
        "GET", "/openapi.json", id: "contract", tag: "operations", summary: "This contract (OpenAPI 3.1)", access: .open,
        responses: [.json(200, "the OpenAPI 3.1 document", .object(["openapi": .constant("3.1.0")], required: ["info", "openapi", "paths"]))])

    /// Adds the route to `router`.
    func register(on router: inout HTTPRouter) {
        let operations = self.operations, publicURL = self.publicURL
        router.add(Self.contractOperation) { _, responder in
            do {
                let body = try OpenAPIDocument(operations: operations, serverURL: publicURL()).json()
                responder.send(APIResponse.json(200, bytes: Array(body)))
            } catch {
                responder.send(APIError.unavailable("the contract could not be written: \(error)").response)
            }
        }
    }
}
