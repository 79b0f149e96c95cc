/// One parsed HTTP/1.1 request with its whole body.
public struct HTTPRequest: Sendable {
    /// The method, for example `POST`.
    public let method: String
    /// The request target as sent, path and query.
    public let target: String
    /// The path part of the target, without the query.
    public let path: String
    /// The query parameters, percent-decoded; the first value wins when a name repeats.
    public let query: [String: String]
    /// `HTTP/1.1` or `HTTP/1.0`.
    public let version: String
    /// The header fields.
    public let headers: HTTPHeaders
    /// The body bytes (empty when there is none).
    public let body: [UInt8]
    /// Path parameters filled in by `HTTPRouter` (`{id}` → value).
    public internal(set) var pathParameters: [String: String] = [:]
    /// The client's IP address as text (`127.0.0.1`, `::1`), from the socket, never from a
    /// header; empty for requests made in-process. Throttling of failed authentications keys on it.
    public internal(set) var remoteAddress: String = ""

    /// A request; the server makes these, tests may too.
    public init(method: String, target: String, version: String = "HTTP/1.1", headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        if let mark = target.firstIndex(of: "?") {
            path = String(target[..<mark])
            query = HTTPRequest.parseQuery(String(target[target.index(after: mark)...]))
        } else {
            path = target
            query = [:]
        }
    }

    /// Whether the client wants the connection kept open after the response.
    public var keepAlive: Bool {
        let connection = headers["connection"]?.lowercased() ?? ""
        if version == "HTTP/1.0" { return connection.contains("keep-alive") }
        return !connection.contains("close")
    }

    static func parseQuery(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = percentDecode(String(parts[0])), !name.isEmpty else { continue }
            let value = parts.count > 1 ? percentDecode(String(parts[1])) ?? "" : ""
            if result[name] == nil { result[name] = value }
        }
        return result
    }

    /// Decodes `%XX` escapes and `+` as space; `nil` for a broken escape or invalid UTF-8.
    public static func percentDecode(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        case 97...102: c - 87
        default: nil
        }
    }
}
