import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server on Dispatch and non-blocking POSIX sockets (DESIGN §4).
///
/// Keep-alive and pipelining, `Content-Length` bodies, hard limits on head and body size
/// and on open connections, deadlines against slow and silent clients, and a graceful
/// stop that finishes in-flight requests.
public final class HTTPServer: @unchecked Sendable {
    /// The limits and address it was started with.
    public let configuration: HTTPServerConfiguration
    private let handler: HTTPHandler
    private let socket: ListeningSocket
    private let acceptQueue = DispatchQueue(label: "vigil.http.accept")
    private let connectionTarget = DispatchQueue(label: "vigil.http.connections", attributes: .concurrent)
    private var acceptSource: DispatchSourceRead?
    private let lock = NSLock()
    private var connections: [UInt64: HTTPConnection] = [:]
    private var nextID: UInt64 = 0
    private var stopping = false
    private let allClosed = DispatchGroup()

    /// The port actually bound (useful when the configuration asked for 0).
    public var port: Int { socket.port }

    /// Binds and listens; requests go to `handler` once `start` is called.
    public init(configuration: HTTPServerConfiguration, handler: @escaping HTTPHandler) throws {
        self.configuration = configuration
        self.handler = handler
        socket = try ListeningSocket(host: configuration.host, port: configuration.port)
    }

    /// Starts accepting connections.
    public func start() {
        let source = DispatchSource.makeReadSource(fileDescriptor: socket.descriptor, queue: acceptQueue)
        source.setEventHandler { [weak self] in self?.acceptPending() }
        let fd = socket.descriptor
        source.setCancelHandler { Glibc.close(fd) }
        acceptSource = source
        source.resume()
    }

    /// The number of open connections.
    public var openConnections: Int { lock.withLock { connections.count } }

    private func acceptPending() {
        while let fd = socket.accept() {
            lock.lock()
            if stopping || connections.count >= configuration.maxConnections {
                lock.unlock()
                let busy = HTTPResponse(status: 503, contentType: "application/json", text: "{\"error\":\"busy\",\"message\":\"too many open connections; retry shortly\"}")
                let bytes = busy.serialized(keepAlive: false)
                _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                Glibc.close(fd)
                continue
            }
            nextID += 1
            let id = nextID
            allClosed.enter()
            let connection = HTTPConnection(
                id: id, fd: fd, configuration: configuration, handler: handler, target: connectionTarget,
                onClose: { [weak self] id in self?.connectionClosed(id) })
            connections[id] = connection
            lock.unlock()
            connection.start()
        }
    }

    private func connectionClosed(_ id: UInt64) {
        let removed = lock.withLock { connections.removeValue(forKey: id) }
        if removed != nil { allClosed.leave() }
    }

    /// Stops accepting, lets in-flight requests finish and their responses drain, closes
    /// idle connections, and returns once all are closed or `timeout` seconds have passed
    /// (then the rest are closed by force).
    public func stop(timeout: Double = 10) {
        let open: [HTTPConnection] = lock.withLock {
            guard !stopping else { return [] }
            stopping = true
            return Array(connections.values)
        }
        acceptSource?.cancel()
        for connection in open { connection.drain() }
        if allClosed.wait(timeout: .now() + timeout) == .timedOut {
            for connection in lock.withLock({ Array(connections.values) }) { connection.forceClose() }
            _ = allClosed.wait(timeout: .now() + 2)
        }
    }
}
