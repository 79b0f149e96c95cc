import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A loopback SMTP receiver for `vigil bench crash`: the server side of just enough SMTP
/// (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no STARTTLS, which Vigil only tries) for
/// the service's libcurl sender, reporting each message's recipients and the delivery and
/// alert ids in its `X-Vigil-Delivery` and `X-Vigil-Alert` headers.
///
/// In Swift rather than `deploy/receivers/smtp_receiver.py`, so that the bench runs wherever
/// the `vigil` binary does, without the repository's Python environment. Blocking sockets, a
/// thread per connection: the bench sends a few messages a second. Every socket call of the
/// bench lives in this file.
public final class SMTPSink: Sendable {
    /// What one message carried: its recipients and the ids the bench tallies by, each
    /// checked for shape (`nil` when absent or malformed).
    public struct Message: Sendable, Equatable {
        /// `RCPT TO` addresses, lower-cased.
        public let recipients: [String]
        /// `X-Vigil-Delivery`.
        public let deliveryID: String?
        /// `X-Vigil-Alert`.
        public let alertID: String?
    }

    /// Why the sink could not listen.
    public enum Failure: Error, CustomStringConvertible {
        /// A socket call failed: which, and `errno`'s text.
        case socket(String)

        /// What went wrong and what to do about it.
        public var description: String {
            switch self {
            case .socket(let detail): "the SMTP sink could not listen on 127.0.0.1 (\(detail)); are loopback sockets available?"
            }
        }
    }

    /// Its loopback port.
    public let port: Int
    private let listener: Int32
    private let stopped = Mutex(false)
    private let onMessage: @Sendable (Message) -> Void

    /// The longest line taken (RFC 5321 allows 1,000 bytes; a little more is harmless).
    static let maxLine = 4096
    /// The largest message taken; larger ones are refused with `552`.
    static let maxMessage = 1 << 20
    /// The most recipients one message may name.
    static let maxRecipients = 100

    /// Listens on a free loopback port and starts accepting; `onMessage` gets each message
    /// once the sink has answered its `DATA` with `250`.
    public init(onMessage: @escaping @Sendable (Message) -> Void) throws(Failure) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .socket("socket(): \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound, listen(fd, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .socket("bind/listen: \(reason)")
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        self.onMessage = onMessage
        let accepting = Thread { [self] in acceptLoop() }
        accepting.stackSize = 1 << 20
        accepting.start()
    }

    /// Stops accepting; connections in progress end when their client closes or times out.
    public func stop() {
        guard stopped.withLock({ was in defer { was = true }; return !was }) else { return }
        // Wakes the blocked accept() with an error; the loop sees `stopped` and closes.
        shutdown(listener, Int32(SHUT_RDWR))
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if stopped.withLock({ $0 }) {
                if fd >= 0 { close(fd) }
                break
            }
            guard fd >= 0 else {
                if errno == EINTR || errno == ECONNABORTED { continue }
                break
            }
            // A client that stalls for 30 s is dropped, so no thread waits forever.
            var timeout = timeval(tv_sec: 30, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let session = Thread { [self] in serve(fd) }
            session.stackSize = 1 << 20
            session.start()
        }
        close(listener)
    }

    /// One SMTP session on `fd`, closed at the end.
    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var connection = Connection(fd: fd)
        var recipients: [String] = []
        guard connection.reply("220 vigil-bench ESMTP") else { return }
        while let line = connection.line() {
            let verb = String(decoding: line.prefix(4), as: UTF8.self).uppercased()
            switch verb {
            case "EHLO", "HELO":
                recipients = []
                guard connection.reply("250 vigil-bench") else { return }
            case "MAIL", "RSET":
                recipients = []
                guard connection.reply("250 OK") else { return }
            case "RCPT":
                guard recipients.count < Self.maxRecipients, let address = Self.address(in: line) else {
                    guard connection.reply("550 recipient refused") else { return }
                    continue
                }
                recipients.append(address)
                guard connection.reply("250 OK") else { return }
            case "DATA":
                guard !recipients.isEmpty else {
                    guard connection.reply("503 RCPT first") else { return }
                    continue
                }
                guard connection.reply("354 end with <CRLF>.<CRLF>") else { return }
                guard let headers = connection.messageHeaders() else {
                    _ = connection.reply("552 message too large")
                    return
                }
                guard connection.reply("250 OK") else { return }
                onMessage(Message(recipients: recipients, deliveryID: Self.token(headers["x-vigil-delivery"]), alertID: Self.token(headers["x-vigil-alert"])))
                recipients = []
            case "NOOP":
                guard connection.reply("250 OK") else { return }
            case "QUIT":
                _ = connection.reply("221 bye")
                return
            default:
                guard connection.reply("502 not implemented") else { return }
            }
        }
    }

    /// The address between `<` and `>` of a `RCPT TO:<…>` line, lower-cased; `nil` unless it
    /// is a short run of printable ASCII with one `@`.
    static func address(in line: [UInt8]) -> String? {
        guard let open = line.firstIndex(of: UInt8(ascii: "<")), let close = line[open...].firstIndex(of: UInt8(ascii: ">")), close > open + 1 else { return nil }
        let bytes = line[(open + 1)..<close]
        guard bytes.count <= 254, bytes.allSatisfy({ (0x21...0x7E).contains($0) }), bytes.filter({ $0 == UInt8(ascii: "@") }).count == 1 else { return nil }
        return String(decoding: bytes, as: UTF8.self).lowercased()
    }

    /// `value` when it is an id's shape (1–64 letters, digits and underscores), else `nil`.
    static func token(_ value: String?) -> String? {
        guard let value, (1...64).contains(value.utf8.count),
            value.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == UInt8(ascii: "_") })
        else { return nil }
        return value
    }

    /// The buffered reading and writing of one session.
    private struct Connection {
        let fd: Int32
        var pending: [UInt8] = []

        /// Writes `text` and CRLF; `false` when the client has gone.
        func reply(_ text: String) -> Bool {
            let bytes = Array((text + "\r\n").utf8)
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { return false }
                sent += n
            }
            return true
        }

        /// The next line without its CRLF; `nil` when the client closed, stalled or sent a
        /// line longer than `maxLine`.
        mutating func line() -> [UInt8]? {
            while true {
                if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    var line = Array(pending[..<newline])
                    pending.removeSubrange(...newline)
                    if line.last == UInt8(ascii: "\r") { line.removeLast() }
                    return line
                }
                guard pending.count <= SMTPSink.maxLine else { return nil }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { return nil }
                pending += chunk[..<n]
            }
        }

        /// Reads a message up to its lone `.` line; returns its header fields (names
        /// lower-cased, folded lines joined), or `nil` when it ends early or exceeds `maxMessage`.
        mutating func messageHeaders() -> [String: String]? {
            var headers: [String: String] = [:], inHeaders = true, size = 0, last: String?
            while let line = line() {
                if line == [UInt8(ascii: ".")] { return headers }
                size += line.count + 2
                guard size <= SMTPSink.maxMessage else { return nil }
                guard inHeaders else { continue }
                if line.isEmpty {
                    inHeaders = false
                } else if line.first == UInt8(ascii: " ") || line.first == UInt8(ascii: "\t") {
                    if let last { headers[last, default: ""] += String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespaces) }
                } else if let colon = line.firstIndex(of: UInt8(ascii: ":")), headers.count < 100 {
                    // Dot-stuffing only touches lines starting with a dot, never a header name.
                    let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
                    headers[name] = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                    last = name
                }
            }
            return nil
        }
    }
}
