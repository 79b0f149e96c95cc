import Dispatch
import Foundation
import Synchronization
import Testing
import VigilConcurrency
import VigilHTTP
import VigilHTTPClient

/// Handlers run on the blocking pool given to the server; the connections' I/O does not wait for them.
@Suite struct HTTPHandlerPoolTests {
    /// Two pool threads, both held by handlers that block: a third request waits for a
    /// thread, while a request the admission check refuses (answered on the connection's
    /// queue) and new connections are still served.
    @Test func blockedHandlersHoldPoolThreadsNotTheConnections() throws {
        let pool = BlockingPool(threadCount: 2, label: "test.http.handlers")
        pool.start()
        defer { pool.shutdown() }
        let held = Mutex(0)
        let release = Mutex(false)
        let server = try HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0),
            admission: { $0.path == "/refused" ? HTTPResponse(status: 403, contentType: "text/plain", text: "no") : nil },
            handlers: pool
        ) { request, responder in
            held.withLock { $0 += 1 }
            while !release.withLock({ $0 }) { Thread.sleep(forTimeInterval: 0.001) }  // a handler waiting for a commit
            responder.send(HTTPResponse(status: 200, contentType: "text/plain", text: request.path))
        }
        server.start()
        defer { server.stop() }

        let clients = try (0..<3).map { _ in try BlockingHTTPClient(port: server.port) }
        for (index, client) in clients.enumerated() { try client.send(BlockingHTTPClient.format("GET", "/held/\(index)")) }
        #expect(poll { held.withLock { $0 } == 2 })
        Thread.sleep(forTimeInterval: 0.1)  // time for a third handler to start, were the pool not bounded
        #expect(held.withLock { $0 } == 2)

        let other = try BlockingHTTPClient(port: server.port)
        #expect(try other.request("GET", "/refused").status == 403)

        release.withLock { $0 = true }
        let answered = try clients.map { try $0.readResponse().text }
        #expect(answered == ["/held/0", "/held/1", "/held/2"])
        #expect(pool.mostRunningAtOnce == 2)
    }

    /// A route marked `inline` is handled on its connection's queue: answered while every
    /// pool thread is held, where a route on the pool waits.
    @Test func anInlineRouteIsAnsweredWhileThePoolIsFull() throws {
        let pool = BlockingPool(threadCount: 1, label: "test.http.inline")
        pool.start()
        defer { pool.shutdown() }
        let release = Mutex(false)
        var router = HTTPRouter()
        router.add("GET", "/held") { _, responder in
            while !release.withLock({ $0 }) { Thread.sleep(forTimeInterval: 0.001) }
            responder.send(HTTPResponse(status: 200, contentType: "text/plain", text: "held"))
        }
        router.add("GET", "/queued") { _, responder in responder.send(HTTPResponse(status: 200, contentType: "text/plain", text: "queued")) }
        router.add("POST", "/inline/{n}", inline: true) { request, responder in
            responder.send(HTTPResponse(status: 202, contentType: "text/plain", text: request.pathParameters["n"] ?? ""))
        }
        let server = try HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0), handlers: pool, runsInline: router.runsInline,
            handler: router.handler)
        server.start()
        defer { server.stop() }
        let holder = try BlockingHTTPClient(port: server.port), waiter = try BlockingHTTPClient(port: server.port)
        try holder.send(BlockingHTTPClient.format("GET", "/held"))
        #expect(poll { pool.mostRunningAtOnce == 1 })
        try waiter.send(BlockingHTTPClient.format("GET", "/queued"))
        // The same path with another method, and an unknown path, go to the pool like any route.
        #expect(!router.runsInline(HTTPRequest(method: "GET", target: "/inline/1")))
        #expect(try BlockingHTTPClient(port: server.port).request("POST", "/inline/7").text == "7")
        release.withLock { $0 = true }
        #expect(try holder.readResponse().text == "held")
        #expect(try waiter.readResponse().text == "queued")
    }

    /// A server given no pool makes its own and answers as before.
    @Test func aServerWithoutAPoolMakesItsOwn() throws {
        let server = try HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0)) { _, responder in
            responder.send(HTTPResponse(status: 200, contentType: "text/plain", text: "ok"))
        }
        server.start()
        defer { server.stop() }
        #expect(server.handlers.threadCount == HTTPServerConfiguration(host: "127.0.0.1", port: 0).handlerThreads)
        #expect(try BlockingHTTPClient(port: server.port).request("GET", "/").text == "ok")
    }
}

/// Whether `condition` holds within five seconds.
private func poll(_ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(5)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.001)
    }
    return false
}
