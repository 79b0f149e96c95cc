import Dispatch
import Foundation
import Testing
@testable import VigilDelivery
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
        elif self.path == "/check":
            good = self.headers.get("webhook-signature") == "v1,abc" and body == b'{"x":1}'
            self.send_response(200 if good else 400); self.send_header("Content-Length", "0"); self.end_headers()
        elif self.path == "/huge-retry-after":
            self.send_response(503); self.send_header("Retry-After", "9223372036854775807"); self.send_header("Content-Length", "0"); self.end_headers()
        elif self.path == "/past-retry-after":
            self.send_response(429); self.send_header("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT"); self.send_header("Content-Length", "0"); self.end_headers()
        elif self.path == "/big-body":
            self.send_response(200); self.send_header("Content-Length", str(64 << 20)); self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(1024): self.wfile.write(chunk)
            except Exception: pass
        elif self.path == "/endless-headers":
            self.send_response(200)
            try:
                for n in range(100000): self.send_header("X-Filler-%d" % n, "y" * 64); self.flush_headers()
            except Exception: pass
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
    nonisolated(unsafe) var result: Result<HTTPOutcome, TransportError> = .failure(.failed(.notStarted, afterMilliseconds: 0))
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
        // The receiver answers 200 only when the header and body arrived as sent.
        let result = post(
            url: "http://127.0.0.1:\(helper.port)/check", headers: [("webhook-signature", "v1,abc")], body: Array("{\"x\":1}".utf8),
            timeoutMilliseconds: 5000)
        #expect(try result.get().status == 200 && result.get().retryAfterMilliseconds == nil)
        #expect(try result.get().latencyMilliseconds < 5000)
    }

    /// Issue 17 §1: this header killed the process (`seconds * 1000` overflowed on the
    /// transport's thread). It is now absent; a date in the past asks for no wait.
    @Test func anAbsurdRetryAfterIsAbsentAndDoesNotTrap() throws {
        let helper = try HelperProcess(script: receiver)
        let huge = post(url: "http://127.0.0.1:\(helper.port)/huge-retry-after", headers: [], body: [], timeoutMilliseconds: 5000)
        #expect(try huge.get().status == 503 && huge.get().retryAfterMilliseconds == nil)
        let past = post(url: "http://127.0.0.1:\(helper.port)/past-retry-after", headers: [], body: [], timeoutMilliseconds: 5000)
        #expect(try past.get().status == 429 && past.get().retryAfterMilliseconds == 0)
    }

    /// Issue 17 §3: a reply is read only as far as needed. A 64 MiB body is cut after
    /// `CurlTransfer.replyLimit` bytes (the status stands); endless headers fail the request.
    @Test func readsNoMoreOfAReplyThanItNeeds() throws {
        let helper = try HelperProcess(script: receiver)
        let started = Date()
        let big = post(url: "http://127.0.0.1:\(helper.port)/big-body", headers: [], body: [], timeoutMilliseconds: 20_000)
        #expect(try big.get().status == 200)
        let endless = post(url: "http://127.0.0.1:\(helper.port)/endless-headers", headers: [], body: [], timeoutMilliseconds: 20_000)
        guard case .failure(.failed(.replyTooLarge, _)) = endless else {
            Issue.record("endless headers must fail as too large, not \(endless)")
            return
        }
        #expect(Date().timeIntervalSince(started) < 10, "neither reply was read to its end")
    }

    /// The check before the request goes out: a connection to any other address than the
    /// pinned one is refused (libcurl's CURLOPT_PREREQFUNCTION hands over the address).
    @Test func aConnectionToAnotherAddressIsRefusedBeforeTheRequestGoesOut() {
        let pinned = CurlTransfer(
            CurlRequest(url: "https://desk.example.org/h", headers: [], body: [], timeoutMilliseconds: 1000,
                        pinnedAddress: (host: "desk.example.org", port: 443, address: "2606:4700::1")), completion: { _ in })
        #expect(pinned.connected(to: "2606:4700:0:0::1") && !pinned.connected(to: "127.0.0.1") && !pinned.connected(to: ""))
        let unpinned = CurlTransfer(CurlRequest(url: "http://127.0.0.1/h", headers: [], body: [], timeoutMilliseconds: 1000), completion: { _ in })
        #expect(unpinned.connected(to: "127.0.0.1"))
    }

    /// The pin's IPv6 form: `CURLOPT_CONNECT_TO` takes the address in brackets.
    @Test func pinsAnIPv6Address() throws {
        let helper = try HelperProcess(script: receiver.replacingOccurrences(
            of: "s = S((\"127.0.0.1\", 0), H)", with: "import socket\nS.address_family = socket.AF_INET6\ns = S((\"::1\", 0), H)"))
        let result = post(
            url: "http://desk.vigil-test.invalid:\(helper.port)/ok", headers: [], body: [], timeoutMilliseconds: 5000,
            pinnedAddress: (host: "desk.vigil-test.invalid", port: helper.port, address: "::1"))
        #expect(try result.get().status == 200)
    }

    /// Issue 17 §6: the pin holds whatever host the URL names, a literal address included
    /// (`CURLOPT_RESOLVE` pinned names only: a literal was connected to as written).
    @Test func thePinHoldsForALiteralAddressInTheURL() throws {
        let helper = try HelperProcess(script: receiver)
        // 192.0.2.1 (TEST-NET-1) leads nowhere; the pin is the only way to reach the receiver.
        let result = post(
            url: "http://192.0.2.1:\(helper.port)/ok", headers: [], body: [], timeoutMilliseconds: 3000,
            pinnedAddress: (host: "192.0.2.1", port: helper.port, address: "127.0.0.1"))
        #expect(try result.get().status == 200)
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
        guard case .failure(.timedOut(let after)) = result else {
            Issue.record("must time out, not \(result)")
            return
        }
        #expect(after >= 250 && after < 3000)
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
        let result = post(url: "http://127.0.0.1:\(port)/ok", headers: [], body: [], timeoutMilliseconds: 2000)
        guard case .failure(.failed(.refused, _)) = result else {
            Issue.record("a closed port must fail as refused, not \(result)")
            return
        }
        #expect(DeliveryVerdict.of(result) == .retry(reason: "connection refused after \(Self.milliseconds(of: result)) ms", notBeforeMilliseconds: nil))
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

    static func milliseconds(of result: Result<HTTPOutcome, TransportError>) -> Int64 {
        if case .failure(.failed(_, let after)) = result { return after }
        return -1
    }
}
