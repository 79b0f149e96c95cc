import VigilHTTP
import VigilStore

/// One route of the API and its contract: method, path, who may call it, its parameters,
/// body and every response it can give. Each `*API` type declares its operations beside its
/// `register`, and registers each route through `HTTPRouter.add(_:inline:_:)`, which takes an
/// operation: a route cannot be registered without its description, and `/openapi.json`
/// (`OpenAPIDocument`) is built from the same values.
public struct APIOperation: Sendable, Encodable {
    /// What a caller must present.
    public enum Access: Sendable, Equatable {
        /// `Authorization: Bearer <token>` of a token with this scope (the `Authenticator`'s check).
        case token(Scope)
        /// Nothing.
        case open
        /// `Authorization: Bearer <metrics_token>` when the `metrics_token` setting is set, else nothing.
        case metricsToken
        /// A secret in the path (a signed acknowledgement link, a feed token); refused
        /// secrets count against the client address's failure throttle.
        case secretInPath
    }

    /// A path, query or header parameter.
    public struct Parameter: Sendable, Encodable {
        /// Its name.
        public let name: String
        /// `path`, `query` or `header`.
        public let location: String
        /// Whether it must be given (path parameters always).
        public let required: Bool
        /// What it is.
        public let description: String
        /// Its values.
        public let schema: OpenAPISchema

        /// A path parameter.
        public static func path(_ name: String, _ description: String, _ schema: OpenAPISchema = .string(minLength: 1)) -> Parameter {
            Parameter(name: name, location: "path", required: true, description: description, schema: schema)
        }

        /// A query parameter.
        public static func query(_ name: String, _ description: String, _ schema: OpenAPISchema, required: Bool = false) -> Parameter {
            Parameter(name: name, location: "query", required: required, description: description, schema: schema)
        }

        /// A request header.
        public static func header(_ name: String, _ description: String, _ schema: OpenAPISchema) -> Parameter {
            Parameter(name: name, location: "header", required: false, description: description, schema: schema)
        }

        enum CodingKeys: String, CodingKey {
            case name
            case location = "in"
            case required, description, schema
        }
    }

    /// A body in one media type.
    public struct Content: Sendable {
        /// `application/json`, `text/html`, …
        public let mediaType: String
        /// Its shape.
        public let schema: OpenAPISchema

        /// `schema` as `application/json`.
        public static func json(_ schema: OpenAPISchema) -> Content { Content(mediaType: "application/json", schema: schema) }
        /// An HTML page.
        public static let html = Content(mediaType: "text/html", schema: .string("an HTML page"))
    }

    /// A response header.
    public struct Header: Sendable, Encodable {
        /// What it says.
        public let description: String
        /// Whether every such response carries it.
        public let required: Bool
        /// Its values.
        public let schema: OpenAPISchema

        /// A header described by `description`.
        public init(_ description: String, required: Bool = false, schema: OpenAPISchema = .string()) {
            self.description = description
            self.required = required
            self.schema = schema
        }
    }

    /// One status an operation can answer, and its body.
    public struct Response: Sendable {
        /// The HTTP status.
        public let status: Int
        /// When it is given.
        public let description: String
        /// The body in each media type it comes in (none for `204`, `304`).
        public let content: [Content]
        /// Its headers.
        public let headers: [String: Header]

        /// A response of `status`.
        public init(_ status: Int, _ description: String, _ content: [Content] = [], headers: [String: Header] = [:]) {
            self.status = status
            self.description = description
            self.content = content
            self.headers = headers
        }

        /// A JSON response whose body has `schema`.
        public static func json(_ status: Int, _ description: String, _ schema: OpenAPISchema, headers: [String: Header] = [:]) -> Response {
            Response(status, description, [.json(schema)], headers: headers)
        }

        /// An `APIError` body (`{"error", "message"}`) with `status`.
        public static func error(_ status: Int, _ description: String, headers: [String: Header] = [:]) -> Response {
            Response(status, description, [.json(.ref("Error"))], headers: headers)
        }

        /// `422` with every invalid field.
        public static func validation(_ description: String) -> Response {
            Response(422, description, [.json(.ref("ValidationError"))])
        }
    }

    /// The HTTP method.
    public let method: String
    /// The path pattern, `{name}` for a parameter segment (as `HTTPRouter` matches it).
    public let path: String
    /// A unique name (`operationId`).
    public let id: String
    /// What it does, in a line.
    public let summary: String
    /// The tag it is listed under.
    public let tag: String
    /// What a caller must present.
    public let access: Access
    /// Its path, query and header parameters.
    public var parameters: [Parameter] = []
    /// Its request body in each media type it takes, if it takes one.
    public var body: [Content]? = nil
    /// Whether the body must be present.
    public var bodyRequired = true
    /// The responses particular to it; `responses` adds those every operation of its access can give.
    public var particular: [Response] = []

    /// An operation; `responses` are those particular to it (the authenticator's, the
    /// server's and the body limit's are added).
    public init(
        _ method: String, _ path: String, id: String, tag: String, summary: String, access: Access, parameters: [Parameter] = [],
        body: [Content]? = nil, bodyRequired: Bool = true, responses: [Response]
    ) {
        self.method = method
        self.path = path
        self.id = id
        self.tag = tag
        self.summary = summary
        self.access = access
        self.parameters = parameters
        self.body = body
        self.bodyRequired = bodyRequired
        particular = responses
    }

    /// Every response: the particular ones, then those the server (`400` for a malformed
    /// request, `411` for a chunked body, `413` for a body over the limit, `431` for headers
    /// over theirs, `503` when it is out of connections), the
    /// authenticator (`401`, `403`, `429`, `503`) and the failure throttle (`429`) can give.
    public var responses: [Response] {
        var all = particular
        func add(_ response: Response) {
            if !all.contains(where: { $0.status == response.status }) { all.append(response) }
        }
        let retryAfter = ["retry-after": Header("seconds to wait before trying again", schema: .string(pattern: "^[0-9]+$"))]
        switch access {
        case .token(let scope):
            add(.error(401, "no `Authorization: Bearer` token, or an unknown or revoked one", headers: ["www-authenticate": Header("`Bearer realm=\"vigil\"`")]))
            add(.error(403, "the token lacks the `\(scope.rawValue)` scope"))
            add(.error(429, "the token is over its rate limit, or this address failed to authenticate too often", headers: retryAfter))
        case .metricsToken:
            add(.error(401, "`metrics_token` is set and the request does not present it", headers: ["www-authenticate": Header("`Bearer realm=\"vigil\"`")]))
        case .secretInPath:
            add(.error(429, "this address presented too many refused secrets", headers: retryAfter))
        case .open:
            break
        }
        add(.error(400, "the request is malformed (its line, headers or query)"))
        if body != nil {
            add(.error(411, "the body was sent chunked; send it with a Content-Length"))
            add(.error(413, "the body is larger than the server's limit (`max_body_bytes`)"))
        }
        add(.error(431, "the request line and headers are larger than the server accepts"))
        add(.error(503, "the service cannot answer now (out of connections, or the store cannot be read or written)", headers: retryAfter))
        return all.sorted { $0.status < $1.status }
    }

    private typealias Key = OpenAPIKey

    private struct MediaType: Encodable {
        let schema: OpenAPISchema
    }

    private struct ResponseObject: Encodable {
        let description: String
        let content: [String: MediaType]?
        let headers: [String: Header]?
    }

    private struct RequestBody: Encodable {
        let required: Bool
        let content: [String: MediaType]
    }

    /// The OpenAPI operation object.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(id, forKey: Key("operationId"))
        try c.encode(summary, forKey: Key("summary"))
        try c.encode([tag], forKey: Key("tags"))
        if !parameters.isEmpty { try c.encode(parameters, forKey: Key("parameters")) }
        if let body {
            try c.encode(
                RequestBody(required: bodyRequired, content: Dictionary(body.map { ($0.mediaType, MediaType(schema: $0.schema)) }) { a, _ in a }),
                forKey: Key("requestBody"))
        }
        var responses: [String: ResponseObject] = [:]
        for response in self.responses {
            responses[String(response.status)] = ResponseObject(
                description: response.description,
                content: response.content.isEmpty ? nil : Dictionary(response.content.map { ($0.mediaType, MediaType(schema: $0.schema)) }) { a, _ in a },
                headers: response.headers.isEmpty ? nil : response.headers)
        }
        try c.encode(responses, forKey: Key("responses"))
        switch access {
        case .token(let scope): try c.encode([["bearer": [scope.rawValue]]], forKey: Key("security"))
        case .metricsToken: try c.encode([[String: [String]](), ["metricsToken": []]], forKey: Key("security"))
        case .open, .secretInPath: try c.encode([[String: [String]]](), forKey: Key("security"))
        }
    }
}

extension HTTPRouter {
    /// Registers `operation`'s route with `handler`: the one way VigilAPI adds a route, so
    /// every route it serves has its place in `/openapi.json`.
    mutating func add(_ operation: APIOperation, inline: Bool = false, _ handler: @escaping HTTPHandler) {
        add(operation.method, operation.path, inline: inline, handler)
    }
}
