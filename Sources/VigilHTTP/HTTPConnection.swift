import Dispatch
import Foundation
import VigilConcurrency
#if canImport(Glibc)
import Glibc
#endif

/// One client connection. Every field is touched only on `queue`; the responder and the
/// server reach it by `queue.async`.
///
/// Requests are handled one at a time in arrival order, so pipelined requests are answered
/// in order. One timer enforces three deadlines: a request must arrive whole within
/// `requestTimeout` of its first byte (so a slow or silent client is cut off), an idle
/// kept-alive connection is closed after `idleTimeout`, and a response must drain within
/// `writeTimeout` of being queued. Neither the request nor the write deadline moves once set:
/// the request clock starts when the request's first byte arrives, pipelined behind another
/// request or not, and more bytes, however slow, never extend it.
///
/// When a request's head is complete, `admission` sees it (before any `100 Continue` and
/// before the body is waited for); a refusal is sent at once, and the connection is closed
/// unless the whole request (its body included) had already arrived.
final class HTTPConnection: @unchecked Sendable {
    // @unchecked: every `var` is touched only on `queue` (its sources and timer fire there; others reach it by `queue.async`).
    let id: UInt64
    let queue: DispatchQueue
    private let fd: Int32
    private let configuration: HTTPServerConfiguration
    private let handler: HTTPHandler
    /// Where the handler runs: it may block (a commit, a Kafka acknowledgement), and this
    /// connection's queue runs on Dispatch threads that serve every connection.
    private let handlers: BlockingPool
    private let runsInline: @Sendable (HTTPRequest) -> Bool
    private let admission: HTTPAdmission?
    private let onClose: @Sendable (UInt64) -> Void
    private var parser: HTTPRequestParser
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var outgoing: [UInt8] = []
    private var outgoingIndex = 0
    private var readSource: DispatchSourceRead?
    private var writeSource: DispatchSourceWrite?
    private var writeSourceRunning = false
    private var readPaused = false
    private let timer: DispatchSourceTimer
    /// When the current state's deadline passes.
    private var deadline = DispatchTime.distantFuture
    /// When the timer is set to fire; it is moved only when a deadline comes earlier, since
    /// rearming a dispatch timer is a system call and most deadlines only move later.
    private var scheduledFor = DispatchTime.distantFuture
    private var inFlight = false
    private var keepAliveAfterResponse = true
    private var closeAfterWrite = false
    private var continueSent = false
    /// When the first byte of the request at `readIndex` arrived; `nil` exactly when no
    /// unconsumed byte is buffered.
    private var requestStartedAt: DispatchTime?
    /// When the latest bytes were read, and where in `buffer` they begin: a pipelined request
    /// that starts at or after `lastReadFrom` began arriving at `lastReadAt`.
    private var lastReadAt = DispatchTime.now()
    private var lastReadFrom = 0
    /// When the response being written must have drained, fixed when it was queued.
    private var writeDeadline = DispatchTime.distantFuture
    private var peerClosed = false
    private var draining = false
    private var closed = false
    private var sequence: UInt64 = 0
    /// The peer's IP address, read once from the socket.
    private let remoteAddress: String
    private static let readChunk = 64 * 1024

    init(
        id: UInt64, fd: Int32, configuration: HTTPServerConfiguration, admission: HTTPAdmission?, handler: @escaping HTTPHandler,
        handlers: BlockingPool, runsInline: @escaping @Sendable (HTTPRequest) -> Bool, target: DispatchQueue,
        onClose: @escaping @Sendable (UInt64) -> Void
    ) {
        self.runsInline = runsInline
        self.id = id
        self.fd = fd
        self.configuration = configuration
        self.admission = admission
        self.handler = handler
        self.handlers = handlers
        self.onClose = onClose
        queue = DispatchQueue(label: "vigil.http.connection", target: target)
        parser = HTTPRequestParser(maxHeaderBytes: configuration.maxHeaderBytes, maxBodyBytes: configuration.maxBodyBytes)
        timer = DispatchSource.makeTimerSource(queue: queue)
        remoteAddress = HTTPConnection.peerAddress(of: fd)
    }

    /// The numeric address of the socket's peer, or an empty string when it cannot be read.
    static func peerAddress(of fd: Int32) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let got = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard got == 0 else { return "" }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let named = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
            }
        }
        guard named == 0 else { return "" }
        return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Starts reading; call once.
    func start() {
        queue.async { [self] in
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            source.setEventHandler { [weak self] in self?.readAvailable() }
            readSource = source
            timer.setEventHandler { [weak self] in self?.deadlinePassed() }
            timer.resume()
            arm(.now() + configuration.idleTimeout)
            source.resume()
        }
    }

    /// Stops taking new requests: closes now when idle, after the current response otherwise.
    func drain() {
        queue.async { [self] in
            draining = true
            if !inFlight && outgoing.isEmpty { close() }
        }
    }

    /// Closes the connection at once, whatever it is doing.
    func forceClose() {
        queue.async { [self] in close() }
    }

    // MARK: reading

    private func readAvailable() {
        guard !closed else { return }
        let readFrom = buffer.count
        let now = DispatchTime.now()
        while true {
            // Read into fresh, uninitialised capacity: zero-filling a 64 KiB chunk per read
            // showed up in profiles.
            var count = 0
            let chunk = [UInt8](unsafeUninitializedCapacity: HTTPConnection.readChunk) { raw, initialised in
                count = Glibc.read(fd, raw.baseAddress, raw.count)
                initialised = max(count, 0)
            }
            if count > 0 {
                if readIndex == buffer.count {
                    // The first byte of the next request, whether or not one is in flight.
                    requestStartedAt = now
                }
                buffer.append(contentsOf: chunk)
                if count < HTTPConnection.readChunk { break }
            } else if count == 0 {
                peerClosed = true
                pauseReading()
                break
            } else {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { break }
                close()
                return
            }
        }
        if buffer.count > readFrom {
            lastReadAt = now
            lastReadFrom = readFrom
        }
        // Bound what a pipelining client may queue up while a request is being handled.
        let (most, overflow) = configuration.maxHeaderBytes.addingReportingOverflow(configuration.maxBodyBytes)
        if !overflow && buffer.count - readIndex > most { pauseReading() }
        processBuffered()
    }

    private func pauseReading() {
        guard !readPaused, let readSource else { return }
        readPaused = true
        readSource.suspend()
    }

    private func resumeReading() {
        guard readPaused, !peerClosed, let readSource else { return }
        readPaused = false
        readSource.resume()
    }

    private func processBuffered() {
        guard !closed, !inFlight, outgoing.isEmpty else { return }
        if draining { close(); return }
        while true {
            switch parser.parse(buffer, from: readIndex) {
            case .needMore:
                if readIndex == buffer.count {
                    compact()
                    requestStartedAt = nil
                    if peerClosed { close(); return }
                    arm(.now() + configuration.idleTimeout)
                } else if peerClosed {
                    close()
                } else {
                    armRequestDeadline()
                }
                resumeReading()
                return
            case .head(var head):
                guard let admission else { continue }
                head.remoteAddress = remoteAddress
                if let refusal = admission(head) {
                    inFlight = true
                    if case .request(let whole, let consumed) = parser.parse(buffer, from: readIndex) {
                        // The body (if any) is already here: the request is consumed whole, so
                        // the connection can stay open for the next one, as after any answer.
                        consume(consumed)
                        continueSent = false
                        sequence += 1
                        respond(refusal, keepAlive: whole.keepAlive, sequence: sequence, head: whole.method == "HEAD")
                        return
                    }
                    // Neither a 100 Continue nor the body: the refusal goes out now, then the
                    // connection closes.
                    pauseReading()
                    respond(refusal, keepAlive: false, sequence: sequence, head: head.method == "HEAD")
                    return
                }
            case .awaitingBody(let expectsContinue):
                if peerClosed { close(); return }
                armRequestDeadline()
                if expectsContinue && !continueSent {
                    continueSent = true
                    send(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
                }
                resumeReading()
                return
            case .failure(let error):
                inFlight = true
                let body = "{\"error\":\"bad_request\",\"message\":\"\(error.reason)\"}"
                respond(HTTPResponse(status: error.status, contentType: "application/json", text: body), keepAlive: false, sequence: sequence)
                return
            case .request(var request, let consumed):
                request.remoteAddress = remoteAddress
                consume(consumed)
                continueSent = false
                inFlight = true
                sequence += 1
                keepAliveAfterResponse = request.keepAlive
                let responder = HTTPResponder(connection: self, sequence: sequence, head: request.method == "HEAD")
                // The handler hops to the blocking pool, unless it never waits; its responder
                // hops back to `queue`.
                let handler = self.handler, handled = request
                if runsInline(request) { return handler(handled, responder) }
                do {
                    try handlers.submit { handler(handled, responder) }
                } catch {
                    // Only once the server is stopping, which closes this connection too.
                    let body = "{\"error\":\"unavailable\",\"message\":\"the server is stopping\"}"
                    respond(HTTPResponse(status: 503, contentType: "application/json", text: body), keepAlive: false, sequence: sequence)
                }
                return
            }
        }
    }

    /// Moves past a whole request of `count` bytes, and starts the next request's clock at the
    /// read that brought its first byte.
    private func consume(_ count: Int) {
        readIndex += count
        if readIndex == buffer.count {
            requestStartedAt = nil
        } else if readIndex >= lastReadFrom {
            requestStartedAt = lastReadAt  // the next request began with the latest read
        }  // else it began with an earlier read, no sooner than this one: keep the earlier time
    }

    private func compact() {
        if readIndex > 0 {
            lastReadFrom = max(0, lastReadFrom - readIndex)
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }

    // MARK: writing

    /// Sends the response of request `sequence`; called on `queue` by `HTTPResponder`.
    func respond(_ response: HTTPResponse, keepAlive: Bool? = nil, sequence: UInt64, head: Bool = false) {
        guard !closed, inFlight, sequence == self.sequence else { return }
        let keep = (keepAlive ?? keepAliveAfterResponse) && !draining && !peerClosed
        closeAfterWrite = !keep
        inFlight = false
        compactIfLarge()
        send(response.serialized(keepAlive: keep, includeBody: !head))
    }

    private func compactIfLarge() {
        if readIndex > 64 * 1024 { compact() }
    }

    private func send(_ bytes: [UInt8]) {
        if outgoing.isEmpty {
            outgoing = bytes
            outgoingIndex = 0
            writeDeadline = .now() + configuration.writeTimeout
        } else {
            outgoing += bytes
        }
        flush()
    }

    private func flush() {
        while outgoingIndex < outgoing.count {
            let written = outgoing.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + outgoingIndex, raw.count - outgoingIndex, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                outgoingIndex += written
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                waitForWritable()
                return
            } else {
                close()
                return
            }
        }
        outgoing.removeAll(keepingCapacity: true)
        outgoingIndex = 0
        if writeSourceRunning, let writeSource {
            writeSourceRunning = false
            writeSource.suspend()
        }
        if inFlight { return }  // an interim 100 Continue went out; the request is still arriving
        if closeAfterWrite {
            close()
        } else {
            processBuffered()
        }
    }

    private func waitForWritable() {
        if writeSource == nil {
            let source = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
            source.setEventHandler { [weak self] in self?.flush() }
            writeSource = source
        }
        arm(writeDeadline)  // absolute: a reader that takes a byte at a time does not move it
        if !writeSourceRunning, let writeSource {
            writeSourceRunning = true
            writeSource.resume()
        }
    }

    // MARK: deadlines and closing

    /// Sets the current deadline, moving the timer only when it must fire sooner.
    private func arm(_ at: DispatchTime) {
        deadline = at
        if at < scheduledFor {
            scheduledFor = at
            timer.schedule(deadline: at)
        }
    }

    /// The whole request must have arrived `requestTimeout` after its first byte.
    private func armRequestDeadline() {
        arm((requestStartedAt ?? .now()) + configuration.requestTimeout)
    }

    private func deadlinePassed() {
        guard !closed else { return }
        scheduledFor = .distantFuture
        if DispatchTime.now() < deadline {
            arm(deadline)  // the deadline moved later since the timer was set
            return
        }
        if !outgoing.isEmpty {
            close()  // a reader too slow to take its response
        } else if inFlight {
            arm(.now() + configuration.requestTimeout)  // the handler is working
        } else if requestStartedAt != nil || readIndex < buffer.count {
            inFlight = true
            let body = "{\"error\":\"request_timeout\",\"message\":\"the request did not arrive in time\"}"
            respond(HTTPResponse(status: 408, contentType: "application/json", text: body), keepAlive: false, sequence: sequence)
        } else {
            close()  // idle
        }
    }

    private func close() {
        guard !closed else { return }
        closed = true
        timer.cancel()
        if let writeSource {
            if !writeSourceRunning { writeSource.resume() }
            writeSource.cancel()
        }
        if let readSource {
            if readPaused { readSource.resume() }
            let fd = self.fd
            readSource.setCancelHandler { Glibc.close(fd) }
            readSource.cancel()
        } else {
            Glibc.close(fd)
        }
        buffer = []
        outgoing = []
        onClose(id)
    }
}
