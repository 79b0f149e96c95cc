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
s = S(("127.0.0.1", 0), H)
print("READY", s.server_address[1], flush=True)
s.serve_forever()
"""

@Suite struct CurlRequestTests {
    @Test func postsHeadersAndBodyAndReadsTheAnswer() throws {
        let helper = try HelperProcess(script: receiver)
        let result = CurlRequest.post(
            url: "http://127.0.0.1:\(helper.port)/ok", headers: [("webhook-signature", "v1,abc")], body: Array("{\"x\":1}".utf8),
            timeoutMilliseconds: 5000)
        #expect(result == .success(HTTPOutcome(status: 200, retryAfterMilliseconds: nil, bodyPrefix: "sig=v1,abc body={\"x\":1}")))
    }

    @Test func readsRetryAfter() throws {
        let helper = try HelperProcess(script: receiver)
        let result = CurlRequest.post(url: "http://127.0.0.1:\(helper.port)/busy", headers: [], body: [], timeoutMilliseconds: 5000)
        #expect(try result.get().status == 503 && result.get().retryAfterMilliseconds == 7000)
    }

    @Test func neverFollowsRedirects() throws {
        let helper = try HelperProcess(script: receiver)
        let result = CurlRequest.post(url: "http://127.0.0.1:\(helper.port)/moved", headers: [], body: [], timeoutMilliseconds: 5000)
        #expect(try result.get().status == 302)
    }

    @Test func timesOut() throws {
        let helper = try HelperProcess(script: receiver)
        let result = CurlRequest.post(url: "http://127.0.0.1:\(helper.port)/slow", headers: [], body: [], timeoutMilliseconds: 300)
        #expect(result == .failure(.timedOut))
    }

    @Test func pinsTheCheckedAddress() throws {
        let helper = try HelperProcess(script: receiver)
        // The name does not resolve anywhere; the pin is the only way to reach the receiver.
        let result = CurlRequest.post(
            url: "http://desk.vigil-test.invalid:\(helper.port)/ok", headers: [], body: [], timeoutMilliseconds: 5000,
            pinnedAddress: (host: "desk.vigil-test.invalid", port: helper.port, address: "127.0.0.1"))
        #expect(try result.get().status == 200)
    }

    @Test func reportsRefusedConnections() throws {
        let port: Int
        do { port = try HelperProcess(script: receiver).port }  // started and killed: the port is now closed
        guard case .failure(.failed) = CurlRequest.post(url: "http://127.0.0.1:\(port)/ok", headers: [], body: [], timeoutMilliseconds: 2000) else {
            Issue.record("a closed port must fail")
            return
        }
    }
}
