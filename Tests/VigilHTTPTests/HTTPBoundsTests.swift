import Dispatch
import Foundation
import Synchronization
import Testing
import VigilTestSupport
@testable import VigilHTTP
import VigilHTTPClient

#if canImport(Glibc)
import Glibc
#endif

/// Issue 17 §5: connections and requests are bounded. Each test here failed on `c1ebd4d`
/// (or did not compile there, for the admission hook and the accept throttle).
@Suite struct HTTPBoundsTests {
    // MARK: the request deadline runs from each request's first byte

    /// How the second request's first byte reaches the server.
    enum SecondRequest: String, CaseIterable, CustomTestStringConvertible {
        /// In the same packet as the whole first request.
        case pipelined
        /// While the first request's handler is still working.
        case whileFirstInFlight
        /// After the first response was read.
        case afterFirstResponse
        var testDescription: String { rawValue }
    }

    @Test(.timeLimit(.minutes(1)), arguments: SecondRequest.allCases)
    func aSecondRequestTrickledAByteAtATimeIsCutOffWithinTheRequestTimeout(_ how: SecondRequest) throws {
        let requestTimeout = 1.0
        let server = try startServer { $0.requestTimeout = requestTimeout }
        defer { server.stop() }
        // Every read waits at most 0.3 s: that is the trickle's pace.
        let client = try BlockingHTTPClient(port: server.port, timeout: 0.3)
        var trickle = Array("GET /echo/x HTTP/1.1\r\nHost: x\r\nX-Slow: \(String(repeating: "a", count: 64))".utf8)
        let started: Date
        switch how {
        case .pipelined:
            try client.send(Array(BlockingHTTPClient.format("GET", "/echo/one").utf8) + [trickle.removeFirst()])
            started = Date()
            #expect(try client.readResponse().status == 200)
        case .whileFirstInFlight:
            try client.send(BlockingHTTPClient.format("GET", "/slow"))
            usleep(50_000)
            try client.send([trickle.removeFirst()])
            started = Date()
            #expect(try readPatiently(client).status == 200)
        case .afterFirstResponse:
            #expect(try client.request("GET", "/echo/one").status == 200)
            started = Date()
        }
        var answer: Int?
        var closed = false
        for byte in trickle where Date().timeIntervalSince(started) < 6 {
            do { try client.send([byte]) } catch { closed = true; break }
            do {
                answer = try client.readResponse().status
                break
            } catch BlockingHTTPClient.Failure.timeout {
                continue  // nothing yet: the next byte
            } catch {
                closed = true
                break
            }
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(answer == 408 || closed, "still open after \(elapsed) s")
        #expect(elapsed < requestTimeout + 1.0, "cut off after \(elapsed) s")
    }

    /// A response is read with a 0.3 s socket timeout; retries for up to 3 s.
    private func readPatiently(_ client: BlockingHTTPClient) throws -> BlockingHTTPClient.Response {
        let started = Date()
        while true {
            do { return try client.readResponse() } catch BlockingHTTPClient.Failure.timeout where Date().timeIntervalSince(started) < 3 {}
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aReaderDrainingSlowlyCannotExtendTheWriteDeadline() throws {
        let writeTimeout = 1.0
        let server = try startServer { $0.writeTimeout = writeTimeout }
        defer { server.stop() }
        // A small receive window keeps the server's send buffer from growing without end.
        let client = try BlockingHTTPClient(port: server.port, timeout: 0.5, receiveBufferBytes: 64 * 1024)
        try client.send(BlockingHTTPClient.format("GET", "/big"))
        // Take at most 64 KiB every 16 ms (4 MB/s) of a 32 MiB response: the server's socket
        // becomes writable several times within every writeTimeout (the old code kept the
        // connection for the whole 5 s, 14.5 MB read), but the whole would need over 8 s.
        let started = Date()
        var received = 0
        var closedAt: Double?
        while Date().timeIntervalSince(started) < 5 {
            if closedAt == nil && server.openConnections == 0 { closedAt = Date().timeIntervalSince(started) }
            if closedAt != nil { break }
            do { received += try client.receiveSome(limit: 64 * 1024).count } catch { break }
            usleep(16_000)
        }
        #expect(received < bigBodyBytes, "the reader took all \(received) bytes")
        #expect(closedAt != nil && closedAt! < writeTimeout + 1.5, "closed after \(closedAt.map { "\($0) s" } ?? "more than 5 s"), having read \(received) bytes")
    }

    // MARK: framing: duplicates and bare line ends are refused at once

    /// Without the CRLF CRLF the old parser waited for, until the request deadline.
    @Test(arguments: [
        "GET /echo/x HTTP/1.1\nHost: x\n\n",
        "GET /echo/x HTTP/1.1\r\nHost: x\n",
        "GET /echo/x HTTP/1.1\r\nHost: x\r\n\n",
        "GET /echo/x HTTP/1.1\rHost: x",
        // A malformed request line is refused as soon as its CRLF arrives, not after the head.
        "GET /\r\n",
        "GET /echo/x\r\n",
        "G@T /echo/x HTTP/1.1\r\nHost: x",
    ])
    func refusesBareLineEndsAndBadRequestLinesWith400AtOnce(raw: String) throws {
        let server = try startServer { $0.requestTimeout = 10 }
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port, timeout: 2)
        let started = Date()
        try client.send(raw)
        #expect(try client.readResponse().status == 400)
        #expect(client.isClosedByServer())
        #expect(Date().timeIntervalSince(started) < 2)
    }

    @Test func theParserFindsABareLFWhereverTheReadsSplitTheHead() {
        let raw = Array("GET /x HTTP/1.1\r\nHost: x\r\nX-A: 1\nX-B: 2\r\n\r\n".utf8)
        for split in 1..<raw.count {
            var parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 1024)
            var outcomes: [String] = []
            for end in [split, raw.count] {
                switch parser.parse(Array(raw[0..<end]), from: 0) {
                case .failure(let error): outcomes.append("\(error.status)")
                case .needMore: outcomes.append("more")
                default: outcomes.append("other")
                }
            }
            let bareLF = raw.indices.first { raw[$0] == 10 && raw[$0 - 1] != 13 }!
            #expect(outcomes == [split > bareLF ? "400" : "more", "400"], "split at \(split)")
        }
    }

    // MARK: Content-Length is digits only, bounded, never overflowing

    @Test(arguments: [
        ("99999999999999999999", 413), ("9223372036854775807", 413), ("9223372036854775808", 413),
        (String(repeating: "9", count: 400), 413), ("-1", 400), ("+5", 400), ("5 5", 400), ("5,5", 400),
        ("0x10", 400), ("1e3", 400), ("5.0", 400), ("\u{FF15}", 400), ("\u{0665}", 400),
    ])
    func refusesHostileContentLengths(value: String, status: Int) throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port)
        try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(value)\r\n\r\nhello")
        #expect(try client.readResponse().status == status)
        #expect(client.isClosedByServer())
    }

    @Test func readsContentLengthsWithoutOverflow() {
        #expect(HTTPRequestParser.contentLength("0", limit: 10) == .length(0))
        #expect(HTTPRequestParser.contentLength("0000000000000000000000000000010", limit: 10) == .length(10))
        #expect(HTTPRequestParser.contentLength("11", limit: 10) == .tooLarge)
        #expect(HTTPRequestParser.contentLength("9223372036854775807", limit: Int.max) == .length(Int.max))
        #expect(HTTPRequestParser.contentLength("9223372036854775808", limit: Int.max) == .tooLarge)
        #expect(HTTPRequestParser.contentLength("92233720368547758070", limit: Int.max) == .tooLarge)
        #expect(HTTPRequestParser.contentLength(String(repeating: "9", count: 1000), limit: Int.max) == .tooLarge)
        #expect(HTTPRequestParser.contentLength("5", limit: 0) == .tooLarge)
        for hostile in ["", " ", "-0", "+1", "1 ", "١", "１", "1_000", "0b1"] {
            #expect(HTTPRequestParser.contentLength(hostile, limit: Int.max) == .invalid, "\(hostile.debugDescription)")
        }
    }

    /// Whitespace around a field value is not part of it (RFC 9110 §5.5).
    @Test func takesAContentLengthWithSpacesAroundIt() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port)
        try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length:   5\t \r\n\r\nhello")
        #expect(try client.readResponse().text == "POST 5 hello")
    }

    @Test func theClientRefusesAServersHostileContentLength() throws {
        for declared in ["-5", "99999999999999999999", "+3", "1e9"] {
            let listener = try ListeningSocket(host: "127.0.0.1", port: 0)
            defer { Glibc.close(listener.descriptor) }
            let answered = DispatchSemaphore(value: 0)
            let descriptor = listener.descriptor
            DispatchQueue.global().async {
                defer { answered.signal() }
                var pollEntry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&pollEntry, 1, 3000) == 1 else { return }
                let fd = Glibc.accept(descriptor, nil, nil)
                guard fd >= 0 else { return }
                let reply = Array("HTTP/1.1 200 OK\r\nContent-Length: \(declared)\r\n\r\nabc".utf8)
                _ = reply.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                usleep(200_000)
                Glibc.close(fd)
            }
            let client = try BlockingHTTPClient(port: listener.port, timeout: 2)
            try client.send(BlockingHTTPClient.format("GET", "/"))
            #expect(throws: BlockingHTTPClient.Failure.self) { _ = try client.readResponse() }
            answered.wait()
        }
        #expect(throws: BlockingHTTPClient.Failure.self) { _ = try BlockingHTTPClient(port: 70_000) }
    }

    // MARK: admission decides on the head, before the body and before 100 Continue

    static let refusal = HTTPResponse(status: 401, contentType: "application/json", text: "{\"error\":\"unauthorized\"}")

    @Test(.timeLimit(.minutes(1)))
    func aRefusedRequestGetsTheRefusalAndNo100Continue() throws {
        let handled = Tally()
        let server = try startServer(admission: { _ in Self.refusal }, handled: handled)
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port, timeout: 3)
        try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 401)
        #expect(response.headers["connection"] == "close")
        #expect(client.isClosedByServer())
        #expect(handled.count == 0)
    }

    @Test(.timeLimit(.minutes(1)))
    func aRefusedRequestWithAHugeDeclaredBodyIsAnsweredWithoutWaitingForIt() throws {
        let server = try startServer(admission: { _ in Self.refusal }) {
            $0.maxBodyBytes = 64 * 1024 * 1024
            $0.requestTimeout = 5
        }
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port, timeout: 3)
        let started = Date()
        try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 60000000\r\n\r\n" + String(repeating: "x", count: 1000))
        #expect(try client.readResponse().status == 401)
        #expect(Date().timeIntervalSince(started) < 1.5)
        #expect(client.isClosedByServer())
    }

    /// A client that sends its body without waiting (no `Expect`) still reads the refusal,
    /// although the server closes with the body unread (which resets the connection: Linux
    /// keeps what had arrived readable, so no lingering close is needed for this).
    @Test(.timeLimit(.minutes(1)))
    func aClientStillSendingItsBodyReadsTheRefusal() throws {
        let server = try startServer(admission: { _ in Self.refusal }) { $0.maxBodyBytes = 8 * 1024 * 1024 }
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port, timeout: 3)
        let body = [UInt8](repeating: 0x78, count: 4 * 1024 * 1024)
        try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n")
        usleep(100_000)  // the refusal is on its way
        var sent = 0
        for start in stride(from: 0, to: body.count, by: 64 * 1024) {
            do { try client.send(Array(body[start..<min(body.count, start + 64 * 1024)])) } catch { break }
            sent += 64 * 1024
        }
        let response = try client.readResponse()
        #expect(response.status == 401, "after sending \(sent) bytes of the body")
        #expect(client.isClosedByServer())
    }

    @Test func admissionSeesEveryHeadWithTheClientAddressBeforeTheHandler() throws {
        let seen = Mutex<[(method: String, target: String, bodyBytes: Int, address: String, token: String?)]>([])
        let handled = Tally()
        let server = try startServer(admission: { head in
            seen.withLock { $0.append((head.method, head.target, head.body.count, head.remoteAddress, head.headers["authorization"])) }
            return head.headers["authorization"] == "Bearer good" ? nil : Self.refusal
        }, handled: handled)
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port)
        // Pipelined, both bodies already buffered when the heads are read.
        try client.send(
            BlockingHTTPClient.format("POST", "/echo", body: "one", headers: ["Authorization": "Bearer good"])
                + BlockingHTTPClient.format("GET", "/echo/two", headers: ["Authorization": "Bearer good"])
                + BlockingHTTPClient.format("POST", "/echo", body: "three", headers: ["Authorization": "Bearer bad"]))
        #expect(try client.readResponse().text == "POST 3 one")
        #expect(try client.readResponse().text == "GET two ")
        let third = try client.readResponse()
        // Its body had arrived with it, so the refusal consumed the request whole and the
        // connection stays open for the next one.
        #expect(third.status == 401 && third.headers["connection"] == "keep-alive")
        #expect(try client.request("GET", "/echo/four", headers: ["Authorization": "Bearer good"]).text == "GET four ")
        let calls = seen.withLock { $0 }
        #expect(calls.map(\.target) == ["/echo", "/echo/two", "/echo", "/echo/four"])
        #expect(calls.allSatisfy { $0.bodyBytes == 0 && $0.address == "127.0.0.1" })
        #expect(calls.map(\.token) == ["Bearer good", "Bearer good", "Bearer bad", "Bearer good"])
        #expect(handled.count == 3, "the refused request never reached the handler")
    }

    // MARK: accepting pauses when descriptors run out; the cap stays below the limit

    @Test func theAcceptThrottlePausesOnceWhenOutOfDescriptors() {
        var throttle = AcceptThrottle()
        throttle.wakeup()
        #expect(throttle.step(after: .accepted(7)) == .acceptNext)
        #expect(throttle.step(after: .connectionFailed) == .acceptNext)
        #expect(throttle.step(after: .noneWaiting) == .waitForReadiness)
        throttle.wakeup()
        #expect(throttle.step(after: .outOfDescriptors) == .pause(seconds: AcceptThrottle.pauseSeconds))
        #expect(throttle.paused)
        let generation = throttle.pauseGeneration
        #expect(throttle.step(after: .outOfDescriptors) == .waitForReadiness)
        let r1 = throttle.resumeAfterPause(generation: generation)
        #expect(r1)
        #expect(!throttle.paused)
        let r2 = throttle.resumeAfterPause(generation: generation)
        #expect(!r2)
        // A close ends a pause early; the first pause's late timer does not end the next one.
        #expect(throttle.step(after: .failed(EBADF)) == .pause(seconds: AcceptThrottle.pauseSeconds))
        let r3 = throttle.connectionClosed()
        #expect(r3)
        let r4 = throttle.connectionClosed()
        #expect(!r4)
        #expect(throttle.step(after: .outOfDescriptors) == .pause(seconds: AcceptThrottle.pauseSeconds))
        let r5 = throttle.resumeAfterPause(generation: generation)
        #expect(!r5)
        #expect(throttle.paused)
        // One readiness event takes a bounded number of connections.
        throttle = AcceptThrottle()
        throttle.wakeup()
        let steps = (0..<AcceptThrottle.acceptsPerWakeup).map { _ in throttle.step(after: .accepted(9)) }
        #expect(steps.last == .waitForReadiness && steps.dropLast().allSatisfy { $0 == .acceptNext })
    }

    @Test func errnoValuesMapToAcceptOutcomes() {
        #expect(AcceptOutcome(errno: EMFILE) == .outOfDescriptors)
        #expect(AcceptOutcome(errno: ENFILE) == .outOfDescriptors)
        #expect(AcceptOutcome(errno: EAGAIN) == .noneWaiting)
        #expect(AcceptOutcome(errno: ECONNABORTED) == .connectionFailed)
        #expect(AcceptOutcome(errno: EBADF) == .failed(EBADF))
    }

    /// `accept()` fails with EMFILE for a second while a client waits: the old loop called it
    /// again at once, as fast as it could, for as long as the failure lasted.
    @Test(.timeLimit(.minutes(1)))
    func anAcceptLoopOutOfDescriptorsRestsInsteadOfSpinning() throws {
        let calls = Tally()
        let failUntil = Date().addingTimeInterval(1)
        let configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        let server = try HTTPServer(configuration: configuration, admission: nil, handler: { request, responder in
            responder.send(HTTPResponse(status: 200, contentType: "text/plain", text: "ok"))
        }, descriptorLimit: HTTPServerConfiguration.descriptorLimit(), accept: { socket in
            guard Date() < failUntil else { return socket.accept() }
            calls.add()
            return .outOfDescriptors
        })
        server.start()
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port, timeout: 5)
        try client.send(BlockingHTTPClient.format("GET", "/"))
        usleep(300_000)
        #expect((0..<10).contains { _ in usleep(20_000); return server.acceptingPaused })
        // Then descriptors are back: the waiting client is served.
        #expect(try client.readResponse().status == 200)
        let failures = calls.count
        #expect(failures >= 2 && failures <= 15, "\(failures) failed accept() calls in one second")
    }

    /// Descriptors are numbered lowest-free first: a connection that got a descriptor near the
    /// limit is refused, so the process keeps some free (libdispatch on Linux traps when it
    /// cannot open a `/proc` file, which took a service at its limit down in a manual trial).
    @Test func refusesAConnectionWhoseDescriptorIsNearTheLimit() throws {
        #expect(HTTPServer.descriptorCeiling(limit: 1024) == 960)
        #expect(HTTPServer.descriptorCeiling(limit: 40) == 32)
        #expect(HTTPServer.descriptorCeiling(limit: 20_000) == 19_936)
        #expect(HTTPServer.descriptorCeiling(limit: Int.max) == Int.max - 64)
        let configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        // Any descriptor the test process gets now is above the ceiling of a limit of 10.
        let nearLimit = try HTTPServer(configuration: configuration, admission: nil, handler: { _, responder in
            responder.send(HTTPResponse(status: 200, contentType: "text/plain", text: "ok"))
        }, descriptorLimit: 10, accept: { $0.accept() })
        nearLimit.start()
        defer { nearLimit.stop() }
        let client = try BlockingHTTPClient(port: nearLimit.port, timeout: 3)
        #expect(try client.readResponse().status == 503)
        #expect(nearLimit.openConnections == 0)
    }

    @Test func maxConnectionsDefaultsBelowTheDescriptorLimit() {
        let limit = HTTPServerConfiguration.descriptorLimit()
        let configuration = HTTPServerConfiguration()
        #expect(configuration.maxConnections < limit)
        #expect(configuration.maxConnections <= 1024 && configuration.maxConnections >= min(16, limit))
        var asked = configuration
        asked.maxConnections = 10_000_000
        #expect(asked.effectiveMaxConnections <= max(16, limit / 2))
        #expect(asked.effectiveMaxConnections < limit)
        asked.maxConnections = 3
        #expect(asked.effectiveMaxConnections == 3)
    }
}

/// A count shared with `@Sendable` closures.
final class Tally: Sendable {
    private let value = Mutex(0)
    /// Adds one.
    func add() { value.withLock { $0 += 1 } }
    /// The count so far.
    var count: Int { value.withLock { $0 } }
}
