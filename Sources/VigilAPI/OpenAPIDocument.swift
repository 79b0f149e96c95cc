import Foundation
import VigilCore
import VigilStore

/// The API contract `GET /openapi.json` answers: an OpenAPI 3.1 document built from the
/// operations the routes are registered with (`APIRoutes.operations`) and the shared schemas
/// (`APIComponents`), with the service's `public_url` as its server.
public struct OpenAPIDocument: Sendable, Encodable {
    /// The version of the contract; changes when a route or a schema changes incompatibly.
    public static let contractVersion = "1.0.0"

    private struct Info: Encodable {
        let title = "Vigil"
        let version = OpenAPIDocument.contractVersion
        let description: String
    }

    private struct Server: Encodable {
        let url: String
    }

    private struct SecurityScheme: Encodable {
        let type = "http"
        let scheme = "bearer"
        let description: String
    }

    private struct Components: Encodable {
        let schemas: [String: OpenAPISchema]
        let securitySchemes: [String: SecurityScheme]
    }

    private let openapi = "3.1.0"
    private let info: Info
    private let servers: [Server]
    private let paths: [String: [String: APIOperation]]
    private let components: Components

    /// The contract of `operations`, served at `serverURL`.
    public init(operations: [APIOperation], serverURL: String) {
        info = Info(description: """
            Vigil files alerts about threatened human rights defenders and routes them to the desks that subscribed \
            (webhooks signed per Standard Webhooks, email, Atom feeds). Every `/v1` route takes `Authorization: Bearer <token>`; \
            each operation names the scope its token needs, and every token is held to a rate limit (`429` with `Retry-After`). \
            Errors are `{"error": code, "message": …}`, validation failures `422` with every invalid field. \
            The console (`/console/…`) is HTML for people, signs them in with its own sessions and is not part of this contract.
            """)
        servers = [Server(url: serverURL)]
        var paths: [String: [String: APIOperation]] = [:]
        for operation in operations { paths[operation.path, default: [:]][operation.method.lowercased()] = operation }
        self.paths = paths
        let scopes = Scope.allCases.map(\.rawValue).joined(separator: ", ")
        components = Components(
            schemas: APIComponents.schemas,
            securitySchemes: [
                "bearer": SecurityScheme(description: "an API token made with `vigil tokens create`; its scopes (\(scopes)) decide what it may do"),
                "metricsToken": SecurityScheme(description: "the `metrics_token` setting, when set"),
            ])
    }

    /// The document as JSON (keys sorted).
    public func json() throws -> Data { try VigilJSON.encode(self) }
}
