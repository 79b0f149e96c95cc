import Foundation
import VigilHTTP

#if canImport(Glibc)
import Glibc
#endif

/// The webhook receiver both sides of an Alertmanager comparison deliver to: answers every
/// `POST /hook/{name}` with `204` and reports when it arrived and which bench alert it
/// carried, found the same way in either side's body (the first `vbk-…` key, see
/// `key(in:)`), so a webhook costs the sink the same whoever sent it.
///
/// `vigil bench` runs it in a process of its own (`vigil bench sink`, see `serveOverPipes`),
/// so that neither Vigil nor Alertmanager shares a process, a thread pool or a lock with it;
/// the tests run it in-process.
public final class WebhookSinkServer: Sendable {
    /// The prefix of every key the benches put in their alerts.
    public static let keyPrefix = "vbk-"

    private let server: HTTPServer

    /// Its loopback port.
    public var port: Int { server.port }

    /// Listens on a free loopback port; `onReceipt` gets each webhook's key (`nil` when the
    /// body holds none) and the moment it arrived (`BenchClock.now()`, nanoseconds of uptime:
    /// the system's monotonic clock, the same in every process on the machine).
    public init(onReceipt: @escaping @Sendable (_ key: String?, _ at: UInt64) -> Void) throws {
        var router = HTTPRouter()
        router.add("POST", "/hook/{name}") { request, responder in
            let at = BenchClock.now()
            responder.send(HTTPResponse(status: 204))
            onReceipt(WebhookSinkServer.key(in: request.body), at)
        }
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        // Alertmanager opens a connection per notification in flight (thousands when 20,000 alerts
        // arrive at once), Vigil a few per endpoint: the sink takes as many as its descriptors
        // allow, so that neither side is refused and made to retry.
        configuration.maxConnections = 1 << 20
        server = try HTTPServer(configuration: configuration, runsInline: { _ in true }, handler: router.handler)
        server.start()
    }

    /// Stops listening and closes its connections.
    public func stop() { server.stop(timeout: 1) }

    /// The first `vbk-` key in `body`: the prefix and the letters, digits and hyphens after
    /// it, at most 64 bytes; `nil` when there is none.
    public static func key(in body: [UInt8]) -> String? {
        let prefix = Array(keyPrefix.utf8)
        guard body.count >= prefix.count else { return nil }
        var start = 0
        while start + prefix.count <= body.count {
            guard let first = body[start...].firstIndex(of: prefix[0]), first + prefix.count <= body.count else { return nil }
            if body[first..<(first + prefix.count)].elementsEqual(prefix) {
                var end = first + prefix.count
                while end < body.count, end - first < 64, Self.isKeyByte(body[end]) { end += 1 }
                return String(decoding: body[first..<end], as: UTF8.self)
            }
            start = first + 1
        }
        return nil
    }

    private static func isKeyByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == UInt8(ascii: "-")
    }

    /// `vigil bench sink`: serves on a free loopback port, writes `port N` and then one line
    /// `KEY NANOSECONDS` per webhook (`-` for a body without a key) to standard output, and
    /// stops when standard input closes (when the bench that started it ends, however it ends).
    public static func serveOverPipes() throws {
        // Its own process: the soft descriptor limit raised to the hard one, for connections.
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        let sink = try WebhookSinkServer { key, at in
            // One write per line: under PIPE_BUF, so lines from concurrent handlers never interleave.
            let line = Array("\(key ?? "-") \(at)\n".utf8)
            _ = line.withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
        }
        let announcement = Array("port \(sink.port)\n".utf8)
        _ = announcement.withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
        _ = FileHandle.standardInput.readDataToEndOfFile()
        sink.stop()
    }
}
