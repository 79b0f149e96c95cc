import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP/1.1 client over one keep-alive TCP connection, every call bounded by a
/// timeout. The tests use it to send exact bytes (malformed, partial, pipelined); `vigil
/// bench` uses it as a load generator, one per simulated client.
public final class BlockingHTTPClient {
    /// One response as read off the wire.
    public struct Response: Sendable {
        /// The status code.
        public let status: Int
        /// Header fields, names lower-cased.
        public let headers: [String: String]
        /// The body.
        public let body: [UInt8]
        /// The body as UTF-8 text.
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Why a call failed.
    public enum Failure: Error { case connect(String), timeout, closed, malformed(String) }

    private let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects to `127.0.0.1:port`; reads and writes time out after `timeout` seconds. A
    /// `receiveBufferBytes` sets the socket's receive buffer before connecting, which keeps
    /// the server's window small (for tests of slow readers).
    public init(port: Int, host: String = "127.0.0.1", timeout: Double = 5, receiveBufferBytes: Int? = nil) throws {
        guard let port16 = UInt16(exactly: port) else { throw Failure.connect("port \(port) is not between 0 and 65535") }
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(port16.bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        // Between a millisecond and a day: a NaN or huge timeout must not trap in the conversion.
        let bounded = timeout.isNaN ? 5 : min(max(timeout, 0.001), 86_400)
        var tv = timeval(tv_sec: Int(bounded), tv_usec: Int((bounded - Double(Int(bounded))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        if let receiveBufferBytes {
            var size = Int32(clamping: receiveBufferBytes)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure.connect(reason)
        }
    }

    deinit { close(fd) }

    /// Sends raw bytes.
    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure.closed }
            offset += n
        }
    }

    /// Sends raw text.
    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// A whole request with the usual headers.
    public func request(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) throws -> Response {
        try send(BlockingHTTPClient.format(method, path, body: body, headers: headers))
        return try readResponse()
    }

    /// The bytes of a request.
    public static func format(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) -> String {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { text += "\(name): \(value)\r\n" }
        if let body { text += "Content-Length: \(body.utf8.count)\r\n" }
        return text + "\r\n" + (body ?? "")
    }

    /// Reads one response; throws `timeout` when none arrives in time, `closed` at EOF.
    public func readResponse() throws -> Response {
        while true {
            if let end = headEnd() {
                let (status, headers) = try BlockingHTTPClient.parseHead(buffer[0..<end])
                // The server's Content-Length is outside input too: digits only and bounded, so a
                // hostile one cannot make a negative or overflowing range.
                let declared = headers["content-length"] ?? "0"
                guard !declared.isEmpty, declared.utf8.count <= 10, declared.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                    let length = Int(declared), length <= BlockingHTTPClient.maxBodyBytes
                else { throw Failure.malformed("Content-Length '\(declared.prefix(40))' is not a number up to \(BlockingHTTPClient.maxBodyBytes)") }
                let total = end + 4 + (status == 100 ? 0 : length)
                while buffer.count < total { try fill() }
                let body = Array(buffer[(end + 4)..<total])
                buffer.removeFirst(total)
                return Response(status: status, headers: headers, body: body)
            }
            try fill()
        }
    }

    /// The largest response body it reads (1 GiB).
    public static let maxBodyBytes = 1 << 30

    /// Reads whatever bytes arrive next, at most `limit` (bytes already buffered first), for
    /// tests that read a response slowly; throws `timeout` when nothing arrives in time and
    /// `closed` at EOF.
    public func receiveSome(limit: Int) throws -> [UInt8] {
        if buffer.isEmpty { try fill(limit: limit) }
        let taken = Array(buffer.prefix(max(1, limit)))
        buffer.removeFirst(taken.count)
        return taken
    }

    /// `true` when the server has closed the connection (EOF within the timeout).
    public func isClosedByServer() -> Bool {
        do {
            while true { try fill() }
        } catch Failure.closed {
            return true
        } catch {
            return false
        }
    }

    /// The status and lower-cased headers of a response head, split on bytes (Foundation's
    /// string splitting would cost the benchmark's load generator more than the server).
    static func parseHead(_ head: ArraySlice<UInt8>) throws -> (Int, [String: String]) {
        var lines = head.split(separator: 10, omittingEmptySubsequences: true).map { line in
            line.last == 13 ? line.dropLast() : line
        }
        guard !lines.isEmpty else { throw Failure.malformed("empty head") }
        let statusLine = lines.removeFirst().split(separator: 32)
        guard statusLine.count >= 2, let status = Int(String(decoding: statusLine[1], as: UTF8.self)) else {
            throw Failure.malformed(String(decoding: head, as: UTF8.self))
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: 58) else { continue }
            var value = line[(colon + 1)...]
            while value.first == 32 { value = value.dropFirst() }
            headers[String(decoding: line[..<colon], as: UTF8.self).lowercased()] = String(decoding: value, as: UTF8.self)
        }
        return (status, headers)
    }

    private func headEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }

    private func fill(limit: Int = 65536) throws {
        var n = 0
        let chunk = [UInt8](unsafeUninitializedCapacity: min(max(1, limit), 65536)) { raw, initialised in
            n = recv(fd, raw.baseAddress, raw.count, 0)
            initialised = max(n, 0)
        }
        if n > 0 {
            buffer += chunk
        } else if n == 0 {
            throw Failure.closed
        } else if errno == EAGAIN || errno == EWOULDBLOCK {
            throw Failure.timeout
        } else {
            throw Failure.closed
        }
    }
}
