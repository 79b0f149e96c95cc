import Dispatch
import Foundation
import Synchronization
import VigilConcurrency
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server on Dispatch and non-blocking POSIX sockets (DESIGN §4).
///
/// Keep-alive and pipelining, `Content-Length` bodies, hard limits on head and body size
/// and on open connections, deadlines against slow and silent clients, an admission check
/// on each request's head before its body is read, and a graceful stop that finishes
/// in-flight requests.
///
/// Connections' I/O runs on Dispatch queues and never blocks; each request's handler runs on
/// a `BlockingPool` (given, or made for this server), where it may wait for a commit or a
/// Kafka acknowledgement, and its responder hops back to the connection's queue.
public final class HTTPServer: @unchecked Sendable {
    // @unchecked: `throttle` and `acceptSource` are `acceptQueue`'s (`start` sets the source before it runs); the rest is `let`s and `state`.
    /// The limits and address it was started with.
    public let configuration: HTTPServerConfiguration
    /// The most connections it keeps open at once: the configured `maxConnections`, lowered
    /// to what the process's descriptor limit allows (`HTTPServerConfiguration.effectiveMaxConnections`).
    public let maxConnections: Int
    /// An accepted descriptor numbered this high or higher is answered `503` and closed: as
    /// descriptors are numbered lowest-free first, it means the process is this close to its
    /// descriptor limit. The rest stays free for deliveries, the store, and libdispatch,
    /// which on Linux traps when it cannot open `/proc` files for its thread pool.
    let descriptorCeiling: Int
    private let handler: HTTPHandler
    /// Where handlers run.
    public let handlers: BlockingPool
    /// Which requests are handled on their connection's queue instead.
    private let runsInline: @Sendable (HTTPRequest) -> Bool
    /// Whether `handlers` was made for this server, which then starts and shuts it down.
    private let ownsHandlers: Bool
    private let admission: HTTPAdmission?
    private let socket: ListeningSocket
    private let acceptConnection: @Sendable (ListeningSocket) -> AcceptOutcome
    private let acceptQueue = DispatchQueue(label: "vigil.http.accept")
    private let connectionTarget = DispatchQueue(label: "vigil.http.connections", attributes: .concurrent)
    private var acceptSource: DispatchSourceRead?
    private var throttle = AcceptThrottle()
    private let state = Mutex(State())
    private let allClosed = DispatchGroup()

    /// The open connections, shared by the accept queue, the connections and `stop`.
    private struct State {
        var connections: [UInt64: HTTPConnection] = [:]
        var nextID: UInt64 = 0
        var stopping = false
    }

    /// The port actually bound (useful when the configuration asked for 0).
    public var port: Int { socket.port }

    /// Binds and listens; requests go to `handler` once `start` is called. When `admission` is
    /// given, it sees every request's head first and may refuse it (see `HTTPAdmission`).
    ///
    /// Handlers run on `handlers`, the service's blocking pool, which its owner starts and
    /// shuts down (after `stop`). Without one, the server makes a pool of
    /// `configuration.handlerThreads` threads of its own, started by `start` and shut down by `stop`.
    ///
    /// A request `runsInline` says yes to is handled on its connection's queue, without the
    /// hop to the pool (see `HTTPRouter.add(_:_:inline:_:)`).
    public convenience init(
        configuration: HTTPServerConfiguration, admission: HTTPAdmission? = nil, handlers: BlockingPool? = nil,
        runsInline: @escaping @Sendable (HTTPRequest) -> Bool = { _ in false }, handler: @escaping HTTPHandler
    ) throws {
        try self.init(
            configuration: configuration, admission: admission, handlers: handlers, runsInline: runsInline, handler: handler,
            descriptorLimit: HTTPServerConfiguration.descriptorLimit(), accept: { $0.accept() })
    }

    /// As the public initialiser, with the descriptor limit and the `accept()` call
    /// replaceable, so tests can act as a process near or out of descriptors.
    init(
        configuration: HTTPServerConfiguration, admission: HTTPAdmission?, handlers: BlockingPool? = nil,
        runsInline: @escaping @Sendable (HTTPRequest) -> Bool = { _ in false }, handler: @escaping HTTPHandler,
        descriptorLimit: Int, accept: @escaping @Sendable (ListeningSocket) -> AcceptOutcome
    ) throws {
        self.runsInline = runsInline
        self.configuration = configuration
        maxConnections = configuration.effectiveMaxConnections
        descriptorCeiling = HTTPServer.descriptorCeiling(limit: descriptorLimit)
        self.admission = admission
        self.handler = handler
        self.handlers = handlers ?? BlockingPool(threadCount: configuration.handlerThreads, label: "vigil.http.handlers")
        ownsHandlers = handlers == nil
        acceptConnection = accept
        socket = try ListeningSocket(host: configuration.host, port: configuration.port)
    }

    deinit {
        // A pool made for a server never stopped: its idle threads end on a thread of their
        // own, as this may be the last release on one of them.
        if ownsHandlers { handlers.shutdownGracefully() }
    }

    /// Starts accepting connections.
    public func start() {
        if ownsHandlers { handlers.start() }
        let source = DispatchSource.makeReadSource(fileDescriptor: socket.descriptor, queue: acceptQueue)
        source.setEventHandler { [weak self] in self?.acceptPending() }
        let fd = socket.descriptor
        source.setCancelHandler { Glibc.close(fd) }
        acceptSource = source
        source.resume()
    }

    /// `limit` less a reserve of an eighth of it, at least 8 and at most 64 descriptors.
    static func descriptorCeiling(limit: Int) -> Int {
        limit - max(8, min(64, limit / 8))
    }

    /// The number of open connections.
    public var openConnections: Int { state.withLock { $0.connections.count } }

    /// Whether accepting is paused for want of descriptors (on `acceptQueue` only). The
    /// `sync` never waits on I/O: `acceptQueue` only accepts (non-blocking) and counts.
    var acceptingPaused: Bool { acceptQueue.sync { throttle.paused } }

    private func acceptPending() {
        throttle.wakeup()
        while true {
            let outcome = acceptConnection(socket)
            switch throttle.step(after: outcome) {
            case .acceptNext: break
            case .waitForReadiness: return
            case .pause(let seconds):
                // The queued connection keeps the socket readable: stop watching it until a
                // descriptor may be free again, instead of failing on it in a loop.
                acceptSource?.suspend()
                let generation = throttle.pauseGeneration
                acceptQueue.asyncAfter(deadline: .now() + seconds) { [weak self] in
                    guard let self, self.throttle.resumeAfterPause(generation: generation) else { return }
                    self.acceptSource?.resume()
                }
                return
            }
            guard case .accepted(let fd) = outcome else { continue }
            let connection: HTTPConnection? = state.withLock { state in
                if state.stopping || state.connections.count >= maxConnections || fd >= descriptorCeiling { return nil }
                state.nextID += 1
                let id = state.nextID
                allClosed.enter()
                let connection = HTTPConnection(
                    id: id, fd: fd, configuration: configuration, admission: admission, handler: handler, handlers: handlers, runsInline: runsInline, target: connectionTarget,
                    onClose: { [weak self] id in self?.connectionClosed(id) })
                state.connections[id] = connection
                return connection
            }
            guard let connection else {
                let busy = HTTPResponse(status: 503, contentType: "application/json", text: "{\"error\":\"busy\",\"message\":\"too many open connections; retry shortly\"}")
                let bytes = busy.serialized(keepAlive: false)
                _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                Glibc.close(fd)
                continue
            }
            connection.start()
        }
    }

    private func connectionClosed(_ id: UInt64) {
        let removed = state.withLock { $0.connections.removeValue(forKey: id) }
        if removed != nil { allClosed.leave() }
        // A descriptor was freed: accepting may go on before its pause is over.
        acceptQueue.async { [weak self] in
            guard let self, self.throttle.connectionClosed() else { return }
            self.acceptSource?.resume()
        }
    }

    /// Stops accepting, lets in-flight requests finish and their responses drain, closes
    /// idle connections, and returns once all are closed or `timeout` seconds have passed
    /// (then the rest are closed by force); a pool made for this server is then shut down
    /// (in the background when a handler may still be running).
    /// It blocks its thread (`BlockingPool.wait`): call it where a thread may block (the
    /// service's shutdown, a test), never from a handler.
    public func stop(timeout: Double = 10) {
        let open: [HTTPConnection] = state.withLock { state in
            guard !state.stopping else { return [] }
            state.stopping = true
            return Array(state.connections.values)
        }
        // The `sync` never waits on I/O: `acceptQueue` only accepts (non-blocking) and counts.
        acceptQueue.sync {
            // A suspended source would never run its cancel handler, which closes the socket.
            if throttle.paused, throttle.connectionClosed() { acceptSource?.resume() }
            acceptSource?.cancel()
        }
        for connection in open { connection.drain() }
        var closed = BlockingPool.wait(for: allClosed, timeout: timeout)
        if !closed {
            for connection in state.withLock({ Array($0.connections.values) }) { connection.forceClose() }
            closed = BlockingPool.wait(for: allClosed, timeout: 2)
        }
        // A handler may still run on a connection closed by force: then it is not waited for.
        if ownsHandlers { closed ? handlers.shutdown() : handlers.shutdownGracefully() }
    }
}
