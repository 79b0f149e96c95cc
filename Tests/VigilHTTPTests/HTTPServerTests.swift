import Dispatch
import Foundation
import Testing
import VigilHTTP
import VigilHTTPClient
import VigilTestSupport

/// A server on a free loopback port that echoes method, path and body, with a `/slow` route
/// that answers after 300 ms and a `/big` one that answers `bigBodyBytes`.
func startServer(_ tune: (inout HTTPServerConfiguration) -> Void = { _ in }) throws -> HTTPServer {
    try startServer(admission: nil, tune)
}

/// `startServer`'s routes behind `admission`, counting the requests its handler sees in `handled`.
func startServer(
    admission: HTTPAdmission?, handled: Tally? = nil, _ tune: (inout HTTPServerConfiguration) -> Void = { _ in }
) throws -> HTTPServer {
    var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
    tune(&configuration)
    var router = HTTPRouter()
    router.add("GET", "/echo/{name}") { request, responder in
        responder.send(HTTPResponse(status: 200, contentType: "text/plain", text: "GET \(request.pathParameters["name"]!) \(request.query["q"] ?? "")"))
    }
    router.add("POST", "/echo") { request, responder in
        responder.send(HTTPResponse(status: 200, contentType: "text/plain", text: "POST \(request.body.count) \(String(decoding: request.body, as: UTF8.self))"))
    }
    router.add("GET", "/peer") { request, responder in
        responder.send(HTTPResponse(status: 200, contentType: "text/plain", text: request.remoteAddress))
    }
    router.add("GET", "/slow") { _, responder in
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            responder.send(HTTPResponse(status: 200, contentType: "text/plain", text: "slow"))
        }
    }
    router.add("GET", "/big") { _, responder in
        responder.send(HTTPResponse(status: 200, headers: ["content-type": "text/plain"], body: [UInt8](repeating: 0x61, count: bigBodyBytes)))
    }
    let routes = router.handler
    let server = try HTTPServer(configuration: configuration, admission: admission) { request, responder in
        handled?.add()
        routes(request, responder)
    }
    server.start()
    return server
}

/// The size of `/big`'s body.
let bigBodyBytes = 32 * 1024 * 1024

@Suite struct HTTPServerTests {
    @Test func keepsAliveAcrossRequests() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port)
        for i in 0..<5 {
            let response = try client.request("GET", "/echo/n\(i)?q=a%20b")
            #expect(response.status == 200 && response.text == "GET n\(i) a b")
            #expect(response.headers["connection"] == "keep-alive")
        }
        let posted = try client.request("POST", "/echo", body: "héllo")
        #expect(posted.text == "POST 6 héllo")
    }

    @Test func handlersSeeTheClientAddressFromTheSocketNotFromHeaders() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port)
        let response = try client.request("GET", "/peer", headers: ["X-Forwarded-For": "203.0.113.9"])
        #expect(response.text == "127.0.0.1")
    }

    @Test func answersPipelinedRequestsInOrder() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port)
        let batch = BlockingHTTPClient.format("GET", "/slow") + BlockingHTTPClient.format("POST", "/echo", body: "two")
            + BlockingHTTPClient.format("GET", "/echo/three") + BlockingHTTPClient.format("GET", "/missing")
        try client.send(batch)
        #expect(try client.readResponse().text == "slow")
        #expect(try client.readResponse().text == "POST 3 two")
        #expect(try client.readResponse().text == "GET three ")
        #expect(try client.readResponse().status == 404)
    }

    @Test func refusesHeadsOver16KiBWith431() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port)
        let response = try client.request("GET", "/echo/x", headers: ["X-Big": String(repeating: "a", count: 17 * 1024)])
        #expect(response.status == 431)
        #expect(client.isClosedByServer())
    }

    @Test func refusesOversizedBodiesWith413BeforeReadingThem() throws {
        let server = try startServer { $0.maxBodyBytes = 1024 }
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port)
        try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
        #expect(try client.readResponse().status == 413)
        #expect(client.isClosedByServer())
    }

    @Test func refusesChunkedBodiesWith411() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port)
        try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        #expect(try client.readResponse().status == 411)
    }

    @Test(arguments: [
        "GARBAGE\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: x\r\n folded: 1\r\n\r\n",
        "GET /x HTTP/1.1\r\n\r\n",
        "GET x HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
        "GET /x HTTP/1.1\nHost: x\n\n\r\n\r\n",
        // Two readers of one request (a proxy, the authenticator) could each pick another of
        // these; control characters in a value are refused too.
        "GET /echo/x HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
        "GET /echo/x HTTP/1.1\r\nhost: x\r\nHOST: x\r\n\r\n",
        "GET /echo/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n",
        "GET /echo/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nauthorization: Bearer a\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab",
        "GET /echo/x HTTP/1.1\r\nHost: x\r\nX-Bell: a\u{7}b\r\n\r\n",
    ])
    func answersMalformedRequestsWith400(raw: String) throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port)
        try client.send(raw)
        #expect(try client.readResponse().status == 400)
        #expect(client.isClosedByServer())
    }

    @Test func answersUnknownVersionsWith505() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port)
        try client.send("GET /echo/x HTTP/2.0\r\nHost: x\r\n\r\n")
        #expect(try client.readResponse().status == 505)
    }

    @Test func cutsOffAClientThatSendsHalfARequestAndGoesSilent() throws {
        let server = try startServer { $0.requestTimeout = 0.5 }
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port, timeout: 5)
        let started = Date()
        try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part")
        #expect(try client.readResponse().status == 408)
        #expect(client.isClosedByServer())
        #expect(Date().timeIntervalSince(started) < 4.5)
    }

    @Test func aDrippingClientDoesNotExtendItsDeadline() throws {
        let server = try startServer { $0.requestTimeout = 0.6 }
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port, timeout: 5)
        var cutOff = false
        for byte in "GET /echo/x HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".utf8 {
            do { try client.send([byte]) } catch { cutOff = true; break }
            usleep(50_000)
        }
        #expect(cutOff || client.isClosedByServer())
    }

    @Test func closesIdleConnections() throws {
        let server = try startServer { $0.idleTimeout = 0.3 }
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port, timeout: 5)
        #expect(try client.request("GET", "/echo/x").status == 200)
        #expect(client.isClosedByServer())
        #expect(server.openConnections == 0)
    }

    @Test func honoursConnectionClose() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port)
        let response = try client.request("GET", "/echo/x", headers: ["Connection": "close"])
        #expect(response.headers["connection"] == "close")
        #expect(client.isClosedByServer())
    }

    /// Also behind an admission check that lets the request in: the check runs before the
    /// `100 Continue`, never instead of it.
    @Test(arguments: [false, true]) func sends100ContinueWhenAsked(behindAnAdmissionCheck: Bool) throws {
        let server = try behindAnAdmissionCheck ? startServer(admission: { _ in nil }) : startServer()
        defer { server.stop() }
        let client = try BlockingHTTPClient(port: server.port)
        try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        #expect(try client.readResponse().status == 100)
        try client.send("body")
        #expect(try client.readResponse().text == "POST 4 body")
    }

    @Test func answers405WithAllow() throws {
        let server = try startServer()
        defer { server.stop() }
        let response = try BlockingHTTPClient(port: server.port).request("DELETE", "/echo")
        #expect(response.status == 405 && response.headers["allow"] == "POST")
    }

    @Test func servesManyConcurrentConnections() throws {
        let server = try startServer()
        defer { server.stop() }
        let failures = NSLock()
        nonisolated(unsafe) var failed = 0
        DispatchQueue.concurrentPerform(iterations: 200) { i in
            do {
                let client = try BlockingHTTPClient(port: server.port)
                for j in 0..<5 where try client.request("POST", "/echo", body: "\(i)-\(j)").text != "POST \("\(i)-\(j)".utf8.count) \(i)-\(j)" {
                    failures.withLock { failed += 1 }
                }
            } catch {
                failures.withLock { failed += 1 }
            }
        }
        #expect(failed == 0)
    }

    @Test func refusesConnectionsBeyondTheCapWith503() throws {
        let server = try startServer { $0.maxConnections = 2 }
        defer { server.stop() }
        let a = try BlockingHTTPClient(port: server.port), b = try BlockingHTTPClient(port: server.port)
        #expect(try a.request("GET", "/echo/a").status == 200)
        #expect(try b.request("GET", "/echo/b").status == 200)
        let c = try BlockingHTTPClient(port: server.port)
        #expect(try c.readResponse().status == 503)
        #expect(try a.request("GET", "/echo/a").status == 200)
    }

    @Test func stopFinishesInFlightRequestsAndRefusesNewOnes() throws {
        let server = try startServer()
        let port = server.port
        let client = try BlockingHTTPClient(port: port)
        let idle = try BlockingHTTPClient(port: port)
        #expect(try idle.request("GET", "/echo/x").status == 200)
        try client.send(BlockingHTTPClient.format("GET", "/slow"))
        usleep(50_000)
        let stopped = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { server.stop(timeout: 5); stopped.signal() }
        let response = try client.readResponse()
        #expect(response.status == 200 && response.text == "slow")
        #expect(response.headers["connection"] == "close")
        #expect(stopped.wait(timeout: .now() + 10) == .success)
        #expect(idle.isClosedByServer())
        #expect(throws: (any Error).self) { _ = try BlockingHTTPClient(port: port).request("GET", "/echo/x") }
    }
}
