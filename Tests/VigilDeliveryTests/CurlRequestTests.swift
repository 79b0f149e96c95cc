import Dispatch
import Foundation
import Testing
import VigilDelivery
import VigilTestSupport

/// A receiver on a free loopback port built on Python's standard library.
let receiver = """
import http.server, socketserver, time, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == "/ok":
            self.send_response(200); self.end_headers()
            self.wfile.write(b"sig=" + self.headers.get("webhook-signature", "").encode() + b" body=" + body)
        elif self.path == "/busy":
            self.send_response(503); self.send_header("Retry-After", "7"); self.end_headers()
        elif self.path == "/moved":
            self.send_response(302); self.send_header("Location", "/ok"); self.end_headers()
        elif self.path == "/slow":
            time.sleep(3); self.send_response(200); self.end_headers()
    def log_message(self, *args): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many connections arrive at once
s = S(("127.0.0.1", 0), H)
print("READY", s.server_address[1], flush=True)
s.serve_forever()
"""

/// Runs one request on the shared transport and waits for its answer.
func post(
    url: String, headers: [(String, String)], body: [UInt8], timeoutMilliseconds: Int,
    pinnedAddress: (host: String, port: Int, address: String)? = nil
) -> Result<HTTPOutcome, TransportError> {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<HTTPOutcome, TransportError> = .failure(.failed("no answer"))
    CurlTransport.shared.post(CurlRequest(url: url, headers: headers, body: body, timeoutMilliseconds: timeoutMilliseconds, pinnedAddress: pinnedAddress)) {
        result = $0
        done.signal()
    }
    done.wait()
    return result
}

@Suite struct CurlRequestTests {
    @Test func postsHeadersAndBodyAndReadsTheAnswer() throws {
        let helper = try HelperProcess(script: receiver)
        let result = post(
            url: "http://127.0.0.1:\(helper.port)/ok", headers: [("webhook-signature", "v1,abc")], body: Array("{\"x\":1}".utf8),
            timeoutMilliseconds: 5000)
        #expect(result == .success(HTTPOutcome(status: 200, retryAfterMilliseconds: nil, bodyPrefix: "sig=v1,abc body={\"x\":1}")))
    }

    @Test func readsRetryAfter() throws {
        let helper = try HelperProcess(script: receiver)
        let result = post(url: "http://127.0.0.1:\(helper.port)/busy", headers: [], body: [], timeoutMilliseconds: 5000)
        #expect(try result.get().status == 503 && result.get().retryAfterMilliseconds == 7000)
    }

    @Test func neverFollowsRedirects() throws {
        let helper = try HelperProcess(script: receiver)
        let result = post(url: "http://127.0.0.1:\(helper.port)/moved", headers: [], body: [], timeoutMilliseconds: 5000)
        #expect(try result.get().status == 302)
    }

    @Test func timesOut() throws {
        let helper = try HelperProcess(script: receiver)
        let result = post(url: "http://127.0.0.1:\(helper.port)/slow", headers: [], body: [], timeoutMilliseconds: 300)
        #expect(result == .failure(.timedOut))
    }

    @Test func pinsTheCheckedAddress() throws {
        let helper = try HelperProcess(script: receiver)
        // The name does not resolve anywhere; the pin is the only way to reach the receiver.
        let result = post(
            url: "http://desk.vigil-test.invalid:\(helper.port)/ok", headers: [], body: [], timeoutMilliseconds: 5000,
            pinnedAddress: (host: "desk.vigil-test.invalid", port: helper.port, address: "127.0.0.1"))
        #expect(try result.get().status == 200)
    }

    @Test func reportsRefusedConnections() throws {
        let port: Int
        do { port = try HelperProcess(script: receiver).port }  // started and killed: the port is now closed
        guard case .failure(.failed) = post(url: "http://127.0.0.1:\(port)/ok", headers: [], body: [], timeoutMilliseconds: 2000) else {
            Issue.record("a closed port must fail")
            return
        }
    }

    /// Many requests at once share the one transport thread: a slow receiver does not hold
    /// up the quick ones, and every request is answered exactly once.
    @Test func runsManyRequestsAtOnceWithoutWaitingForTheSlowOne() throws {
        let helper = try HelperProcess(script: receiver)
        let lock = NSLock()
        nonisolated(unsafe) var statuses: [Int] = []
        nonisolated(unsafe) var slowAnsweredAt: Date?
        let slow = DispatchSemaphore(value: 0)
        CurlTransport.shared.post(CurlRequest(url: "http://127.0.0.1:\(helper.port)/slow", headers: [], body: [], timeoutMilliseconds: 30_000)) { _ in
            lock.withLock { slowAnsweredAt = Date() }
            slow.signal()
        }
        let quick = DispatchGroup()
        for n in 0..<50 {
            quick.enter()
            CurlTransport.shared.post(CurlRequest(url: "http://127.0.0.1:\(helper.port)/ok", headers: [], body: Array("{\"n\":\(n)}".utf8), timeoutMilliseconds: 30_000)) { result in
                lock.withLock { statuses.append((try? result.get().status) ?? -1) }
                quick.leave()
            }
        }
        #expect(quick.wait(timeout: .now() + 30) == .success)
        let quickDoneAt = Date()
        #expect(lock.withLock { statuses } == Array(repeating: 200, count: 50))
        #expect(lock.withLock { slowAnsweredAt } == nil, "the 50 quick requests were answered while the 3 s one still ran")
        #expect(slow.wait(timeout: .now() + 30) == .success)
        #expect(lock.withLock { slowAnsweredAt }.map { $0 > quickDoneAt } == true)
    }
}
