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
/// request byte by byte costs linear work, not quadratic. Every byte of the head is looked at
/// once, in order, so a bare LF or a bare CR is refused as soon as it arrives, and the answer
/// never depends on how the bytes were split into reads.
struct HTTPRequestParser {
    enum Outcome {
        /// Not enough bytes yet.
        case needMore
        /// The head just became complete and valid: reported once per request, before the body
        /// is waited for, so the server can decide on the head alone (`HTTPAdmission`). The
        /// request carries no body. Call `parse` again to go on.
        case head(HTTPRequest)
        /// Headers are complete and valid; the body is still arriving.
        case awaitingBody(expectsContinue: Bool)
        /// A whole request, which used `consumed` bytes from `start`.
        case request(HTTPRequest, consumed: Int)
        case failure(HTTPParseError)
    }

    let maxHeaderBytes: Int
    let maxBodyBytes: Int
    /// How many bytes of the current head have been looked at.
    private var scanned = 0
    private var parsedHead: (request: HTTPRequest, headLength: Int, bodyLength: Int)?
    /// Whether `.head` was already reported for the current request.
    private var headReported = false
    /// Whether the current request's first line was complete and checked, so a malformed one
    /// (`GET /` of HTTP/0.9, a bad method) is refused as soon as its CRLF arrives.
    private var requestLineChecked = false

    init(maxHeaderBytes: Int, maxBodyBytes: Int) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
    }

    /// Forget progress on the current request; call after a request was consumed.
    mutating func reset() {
        scanned = 0
        parsedHead = nil
        headReported = false
        requestLineChecked = false
    }

    /// Looks at `buffer[start...]` for one request.
    mutating func parse(_ buffer: [UInt8], from start: Int) -> Outcome {
        let available = buffer.count - start
        if parsedHead == nil {
            switch findHeadEnd(buffer, from: start) {
            case .incomplete: return .needMore
            case .failure(let error): return .failure(error)
            case .complete(let headLength):
                switch parseHead(buffer[start..<(start + headLength)]) {
                case .failure(let error): return .failure(error)
                case .success(let (request, bodyLength)): parsedHead = (request, headLength, bodyLength)
                }
            }
        }
        guard let head = parsedHead else { return .needMore }
        if !headReported {
            headReported = true
            return .head(head.request)
        }
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

    private enum HeadEnd {
        case incomplete
        /// The head's length including the blank line.
        case complete(Int)
        case failure(HTTPParseError)
    }

    /// Looks at the bytes of the head not yet looked at, in order: every LF must follow a CR
    /// and every CR must be followed by an LF, and the head (up to its blank line) may not be
    /// longer than `maxHeaderBytes`.
    private mutating func findHeadEnd(_ buffer: [UInt8], from start: Int) -> HeadEnd {
        var i = start + scanned
        let end = buffer.count
        defer { scanned = i - start }
        while i < end {
            guard i - start < maxHeaderBytes else { return .failure(.headersTooLarge) }
            let byte = buffer[i]
            let afterCR = i > start && buffer[i - 1] == 13
            if byte == 10 {
                guard afterCR else { return .failure(.malformed("a line ends in a bare LF; end lines with CRLF")) }
                if !requestLineChecked {
                    requestLineChecked = true
                    if case .failure(let error) = HTTPRequestParser.parseRequestLine(buffer[start..<(i - 1)]) { return .failure(error) }
                }
                if i - start >= 3 && buffer[i - 2] == 10 {
                    i += 1
                    return .complete(i - start)
                }
            } else if afterCR {
                return .failure(.malformed("a bare CR in the request head"))
            }
            i += 1
        }
        return .incomplete
    }

    /// The method, target and version of a request line (without its CRLF).
    private static func parseRequestLine(_ line: ArraySlice<UInt8>) -> Result<(String, String, String), HTTPParseError> {
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
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
        return .success((method, target, version))
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
        let method: String, target: String, version: String
        switch HTTPRequestParser.parseRequestLine(requestLine) {
        case .failure(let error): return .failure(error)
        case .success(let line): (method, target, version) = line
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
            guard !valueBytes.contains(where: { ($0 < 32 && $0 != 9) || $0 == 127 }) else {
                return .failure(.malformed("a header value holds a control character"))
            }
            guard let value = String(validating: valueBytes, as: UTF8.self) else {
                return .failure(.malformed("a header value is not valid UTF-8"))
            }
            headers.add(String(decoding: nameBytes, as: UTF8.self), value)
        }
        if version == "HTTP/1.1", headers["host"] == nil {
            return .failure(.malformed("an HTTP/1.1 request needs a Host header"))
        }
        // Two of these would let two readers of one request (a proxy, the authenticator, the
        // body reader) each pick a different one.
        for (name, label) in [("host", "Host"), ("authorization", "Authorization"), ("content-length", "Content-Length")]
        where headers.values(name).count > 1 {
            return .failure(.malformed("send one \(label) header, not several"))
        }

        let lengths = headers.values("content-length")
        let transferEncoding = headers["transfer-encoding"]
        if transferEncoding != nil {
            return .failure(lengths.isEmpty ? .lengthRequired : .malformed("Content-Length and Transfer-Encoding together"))
        }
        var bodyLength = 0
        if let text = lengths.first {
            switch HTTPRequestParser.contentLength(text, limit: maxBodyBytes) {
            case .invalid: return .failure(.malformed("Content-Length must be one decimal number"))
            case .tooLarge: return .failure(.bodyTooLarge)
            case .length(let length): bodyLength = length
            }
        }
        return .success((HTTPRequest(method: method, target: target, version: version, headers: headers), bodyLength))
    }

    /// What a `Content-Length` value says, read without any arithmetic that could overflow.
    enum ContentLength: Equatable {
        /// Digits only, at most the limit.
        case length(Int)
        /// Digits only, above the limit (however many digits).
        case tooLarge
        /// Empty, or anything but the digits 0-9 (a sign, a space, a comma list, a fraction).
        case invalid
    }

    /// Reads a `Content-Length` value (already stripped of the whitespace around it): ASCII
    /// digits only, leading zeros allowed, compared with `limit` digit by digit so that no
    /// value, however long, overflows.
    static func contentLength(_ text: String, limit: Int) -> ContentLength {
        let digits = text.utf8
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return .invalid }
        var value = 0
        for digit in digits {
            // value * 10 + d > limit  ⇔  value > (limit - d) / 10, which never overflows.
            let d = Int(digit - 48)
            guard limit >= d, value <= (limit - d) / 10 else { return .tooLarge }
            value = value * 10 + d
        }
        return .length(value)
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
