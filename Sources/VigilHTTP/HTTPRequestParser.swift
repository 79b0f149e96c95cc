/// Why a request was refused before any handler saw it; each maps to one status code.
public enum HTTPParseError: Error, Sendable, Equatable {
    /// Request line and headers exceed the limit: `431`.
    case headersTooLarge
    /// The declared body exceeds the limit: `413`.
    case bodyTooLarge
    /// A body without `Content-Length` (chunked transfer coding): `411`.
    case lengthRequired
    /// An HTTP version other than 1.0 and 1.1: `505`.
    case versionNotSupported
    /// Anything else malformed: `400`, with the reason.
    case malformed(String)

    /// The status to answer with.
    public var status: Int {
        switch self {
        case .headersTooLarge: 431
        case .bodyTooLarge: 413
        case .lengthRequired: 411
        case .versionNotSupported: 505
        case .malformed: 400
        }
    }

    /// A short explanation for the response body.
    public var reason: String {
        switch self {
        case .headersTooLarge: "the request line and headers are larger than the server accepts"
        case .bodyTooLarge: "the body is larger than the server accepts"
        case .lengthRequired: "send the body with a Content-Length; chunked request bodies are not accepted"
        case .versionNotSupported: "only HTTP/1.1 and HTTP/1.0 are spoken here"
        case .malformed(let why): why
        }
    }
}

/// An incremental HTTP/1.1 request parser over a byte buffer, with hard limits.
///
/// It remembers how far it has looked for the end of the headers, so a client that drips a
/// request byte by byte costs linear work, not quadratic.
struct HTTPRequestParser {
    enum Outcome {
        /// Not enough bytes yet.
        case needMore
        /// Headers are complete and valid; the body is still arriving.
        case awaitingBody(expectsContinue: Bool)
        /// A whole request, which used `consumed` bytes from `start`.
        case request(HTTPRequest, consumed: Int)
        case failure(HTTPParseError)
    }

    let maxHeaderBytes: Int
    let maxBodyBytes: Int
    private var scanned = 0
    private var parsedHead: (request: HTTPRequest, headLength: Int, bodyLength: Int)?

    init(maxHeaderBytes: Int, maxBodyBytes: Int) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
    }

    /// Forget progress on the current request; call after a request was consumed.
    mutating func reset() {
        scanned = 0
        parsedHead = nil
    }

    /// Looks at `buffer[start...]` for one request.
    mutating func parse(_ buffer: [UInt8], from start: Int) -> Outcome {
        let available = buffer.count - start
        if parsedHead == nil {
            guard let headLength = findHeadEnd(buffer, from: start) else {
                return available > maxHeaderBytes ? .failure(.headersTooLarge) : .needMore
            }
            if headLength > maxHeaderBytes { return .failure(.headersTooLarge) }
            switch parseHead(buffer[start..<(start + headLength)]) {
            case .failure(let error): return .failure(error)
            case .success(let (request, bodyLength)): parsedHead = (request, headLength, bodyLength)
            }
        }
        guard let head = parsedHead else { return .needMore }
        let total = head.headLength + head.bodyLength
        guard available >= total else {
            let expects = head.request.headers["expect"]?.lowercased() == "100-continue"
            return .awaitingBody(expectsContinue: expects)
        }
        let request = HTTPRequest(
            method: head.request.method, target: head.request.target, version: head.request.version,
            headers: head.request.headers, body: Array(buffer[(start + head.headLength)..<(start + total)]))
        reset()
        return .request(request, consumed: total)
    }

    /// The length of the head including the blank line, or `nil` when not yet complete.
    private mutating func findHeadEnd(_ buffer: [UInt8], from start: Int) -> Int? {
        var i = max(start, start + scanned - 3)
        let end = buffer.count
        while i + 3 < end {
            if buffer[i] == 13, buffer[i + 1] == 10, buffer[i + 2] == 13, buffer[i + 3] == 10 { return i + 4 - start }
            i += 1
        }
        scanned = end - start
        return nil
    }

    private func parseHead(_ head: ArraySlice<UInt8>) -> Result<(HTTPRequest, Int), HTTPParseError> {
        // Split on CRLF; a bare CR or LF inside a line is malformed.
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = head.startIndex
        var i = head.startIndex
        let end = head.endIndex - 4
        while i < end {
            if head[i] == 13 {
                guard head[i + 1] == 10 else { return .failure(.malformed("a bare CR in the request head")) }
                lines.append(head[lineStart..<i])
                i += 2
                lineStart = i
            } else if head[i] == 10 || head[i] == 0 {
                return .failure(.malformed("a bare LF or NUL in the request head"))
            } else {
                i += 1
            }
        }
        lines.append(head[lineStart..<end])
        guard let requestLine = lines.first else { return .failure(.malformed("an empty request")) }
        let parts = requestLine.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .failure(.malformed("the request line must be METHOD TARGET VERSION")) }
        let method = String(decoding: parts[0], as: UTF8.self)
        guard !method.isEmpty, parts[0].allSatisfy(HTTPRequestParser.isTokenByte) else {
            return .failure(.malformed("the method is not a token"))
        }
        guard let target = String(validating: parts[1], as: UTF8.self), target.hasPrefix("/"),
            parts[1].allSatisfy({ $0 > 32 && $0 < 127 })
        else { return .failure(.malformed("the target must be an absolute path such as /v1/alerts")) }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            return .failure(version.hasPrefix("HTTP/") ? .versionNotSupported : .malformed("the request line has no HTTP version"))
        }

        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            guard let first = line.first, first != 32, first != 9 else {
                return .failure(.malformed("folded header lines are not accepted"))
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                return .failure(.malformed("a header line without a colon"))
            }
            let nameBytes = line[line.startIndex..<colon]
            guard !nameBytes.isEmpty, nameBytes.allSatisfy(HTTPRequestParser.isTokenByte) else {
                return .failure(.malformed("a header name is not a token"))
            }
            var valueBytes = line[(colon + 1)...]
            while let f = valueBytes.first, f == 32 || f == 9 { valueBytes = valueBytes.dropFirst() }
            while let l = valueBytes.last, l == 32 || l == 9 { valueBytes = valueBytes.dropLast() }
            guard let value = String(validating: valueBytes, as: UTF8.self) else {
                return .failure(.malformed("a header value is not valid UTF-8"))
            }
            headers.add(String(decoding: nameBytes, as: UTF8.self), value)
        }
        if version == "HTTP/1.1", headers["host"] == nil {
            return .failure(.malformed("an HTTP/1.1 request needs a Host header"))
        }

        let lengths = headers.values("content-length")
        let transferEncoding = headers["transfer-encoding"]
        if transferEncoding != nil {
            return .failure(lengths.isEmpty ? .lengthRequired : .malformed("Content-Length and Transfer-Encoding together"))
        }
        var bodyLength = 0
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }), !first.isEmpty, first.count <= 18,
                first.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let length = Int(first)
            else { return .failure(.malformed("Content-Length must be one decimal number")) }
            if length > maxBodyBytes { return .failure(.bodyTooLarge) }
            bodyLength = length
        }
        return .success((HTTPRequest(method: method, target: target, version: version, headers: headers), bodyLength))
    }

    /// RFC 9110 `tchar`.
    static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case 48...57, 65...90, 97...122: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }
}
