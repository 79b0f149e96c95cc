import Foundation
import Testing
import VigilCore
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A webhook receiver that behaves as a hostile or broken desk, on Python's standard library
/// (it verifies nothing). The path picks the behaviour:
///   /retry-after/<status>  answers <status> with `Retry-After: 9223372036854775807`
///   /echo/<status>         answers <status> with the request's body, a marker and the
///                          marker again in a header and the reason phrase
///   /ok                    200
/// Every request is one JSON line in the log file given as the first argument.
let hostileReceiverScript = #"""
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
log_path = sys.argv[1]
lock = threading.Lock()
MARKER = "HOSTILE-ECHO-MARKER"
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        parts = self.path.split("/")
        kind = parts[1] if len(parts) > 1 else ""
        status = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 200
        with lock:
            with open(log_path, "a") as f:
                f.write(json.dumps({"path": self.path, "id": self.headers.get("webhook-id", ""), "at": time.time(),
                                    "body": body.decode("utf-8", "replace")}) + "\n")
        if kind == "retry-after":
            reply, extra = b"", {"Retry-After": "9223372036854775807"}
        elif kind == "echo":
            reply, extra = (MARKER + " ").encode() + body, {"X-Echo": MARKER, "Content-Type": "application/json"}
        else:
            reply, extra = b"", {}
        self.send_response(status, MARKER if kind == "echo" else None)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
print("READY", s.server_address[1], flush=True)
s.serve_forever()
"""#

/// The hostile receiver and what it was sent.
final class HostileReceiver {
    let process: HelperProcess
    let logPath: String

    struct Request: Decodable { let path: String; let id: String; let at: Double; let body: String }

    init() throws {
        logPath = TemporaryDirectory.make("vigil-hostile") + "/requests.jsonl"
        process = try HelperProcess(script: hostileReceiverScript, arguments: [logPath])
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(process.port)\(path)" }

    var requests: [Request] {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONDecoder().decode(Request.self, from: Data($0.utf8))
        }
    }
}

/// A delivery as `GET /v1/alerts/{id}/deliveries` shows it, with its times and last error.
struct HostileDelivery: Decodable {
    let id: String; let subscriber_id: String; let state: String; let attempts: Int
    let next_attempt_at: String?; let updated_at: String; let last_error: String?
}

private func hostileDeliveries(_ port: Int, of alert: String) throws -> [HostileDelivery] {
    struct List: Decodable { let deliveries: [HostileDelivery] }
    return try JSONDecoder().decode(List.self, from: Data(try BlockingHTTPClient(port: port).request("GET", "/v1/alerts/\(alert)/deliveries", headers: auth).body)).deliveries
}

/// Settings with a short retry cap (2 s for everything below critical) and no mail relay.
private func hostileEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
    var environment = [
        "VIGIL_ALLOW_PRIVATE_WEBHOOKS": "true", "VIGIL_RETRY_BASE_MILLISECONDS": "40", "VIGIL_RETRY_CAP_SECONDS": "2",
        "VIGIL_WEBHOOK_TIMEOUT_SECONDS": "2",
    ]
    for (k, v) in extra { environment[k] = v }
    return environment
}

/// Issue 17 §1 and §3: what a receiver answers can neither take the service down nor reach
/// what the service stores and shows.
@Suite(.serialized) struct HostileReceiverEndToEndTests {
    /// `Retry-After: 9223372036854775807` killed the process with an arithmetic overflow,
    /// whatever the status; after a restart the delivery was due again. The service must stay
    /// up, keep delivering, and schedule the retry no later than the retry cap.
    @Test(arguments: [503, 429, 200])
    func aHugeRetryAfterNeitherKillsTheServiceNorDelaysPastTheCap(status: Int) throws {
        let receiver = try HostileReceiver()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: hostileEnvironment())
        let hostile = try createSubscriber(service.port, channels: #"[{"type":"webhook","url":"\#(receiver.url("/retry-after/\(status)"))"}]"#)
        let decent = try createSubscriber(service.port, channels: #"[{"type":"webhook","url":"\#(receiver.url("/ok"))"}]"#, country: "RU")
        // Below critical, so the standard schedule and its 2 s cap apply.
        let first = try file(service.port, severity: "high")
        #expect(eventually(10) { receiver.requests.contains { $0.path.hasPrefix("/retry-after/") } }, "the hostile receiver was called")
        if status == 200 {
            #expect(try eventually(10) { try hostileDeliveries(service.port, of: first).first?.state == "delivered" })
        } else {
            // The failed attempt is scheduled again within the cap, not at the end of time.
            var scheduled: HostileDelivery?
            #expect(try eventually(10) {
                scheduled = try hostileDeliveries(service.port, of: first).first { $0.state == "failed" && $0.next_attempt_at != nil }
                return scheduled != nil
            }, "the delivery is failed and scheduled again; the service log:\n\(service.logs.suffix(2000))")
            if let scheduled, let next = scheduled.next_attempt_at.flatMap(Timestamp.init(rfc3339:)), let updated = Timestamp(rfc3339: scheduled.updated_at) {
                #expect(next.milliseconds - updated.milliseconds <= 2000, "next attempt \(next) was scheduled past the 2 s cap after \(updated)")
            }
            // And it is really tried again, within the cap (and some slack for the claim).
            #expect(eventually(10) { receiver.requests.filter { $0.path.hasPrefix("/retry-after/") }.count >= 2 })
            let attempts = receiver.requests.filter { $0.path.hasPrefix("/retry-after/") }
            if attempts.count >= 2 { #expect(attempts[1].at - attempts[0].at < 4, "the second attempt came \(attempts[1].at - attempts[0].at) s after the first") }
        }
        #expect(service.terminationStatus == nil, "the service died:\n\(service.logs.suffix(2000))")
        #expect(try BlockingHTTPClient(port: service.port).request("GET", "/healthz").status == 200)
        // A second alert still gets delivered, to a decent desk.
        let second = try file(service.port, country: "RU", severity: "high")
        #expect(try eventually(10) { try hostileDeliveries(service.port, of: second).first { $0.subscriber_id == decent.id }?.state == "delivered" })
        #expect(service.terminationStatus == nil, "the service died:\n\(service.logs.suffix(2000))")
        _ = hostile
    }

    /// A desk that echoes the payload (with the defender's name) in its error reply must not
    /// get that reply into `last_error`: neither the deliveries of the alert nor the dead
    /// letters show anything the receiver wrote, only its status, the class and the latency.
    @Test(arguments: [400, 500])
    func aReceiversReplyIsNeverStoredOrShown(status: Int) throws {
        let receiver = try HostileReceiver()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        // No breaker in the way: the budget, not a cool-down, ends the retries.
        try service.start(environment: hostileEnvironment(["VIGIL_RETRY_BUDGET_SECONDS": "1", "VIGIL_BREAKER_THRESHOLD": "1000"]))
        _ = try createSubscriber(
            service.port, channels: #"[{"type":"webhook","url":"\#(receiver.url("/echo/\(status)"))"}]"#, clearance: "confidential")
        let name = "Ilse Vandermeulen"
        let alert = try file(service.port, severity: "high", confidentiality: "restricted", name: name)
        #expect(try eventually(20) { try hostileDeliveries(service.port, of: alert).first?.state == "dead" })
        #expect(receiver.requests.contains { $0.body.contains(name) }, "the desk was sent the name, and echoed it")
        let shown = try BlockingHTTPClient(port: service.port).request("GET", "/v1/alerts/\(alert)/deliveries", headers: auth).text
        let dead = try BlockingHTTPClient(port: service.port).request("GET", "/v1/deliveries?state=dead", headers: auth).text
        for text in [shown, dead] {
            #expect(!text.contains(name) && !text.contains("Vandermeulen"), "\(text)")
            #expect(!text.contains("HOSTILE-ECHO-MARKER"), "\(text)")
        }
        let lastError = try #require(try hostileDeliveries(service.port, of: alert).first?.last_error)
        #expect(lastError.contains("HTTP \(status)") && lastError.contains(" ms"), "\(lastError)")
        #expect(!service.logs.contains("HOSTILE-ECHO-MARKER"))
    }

    /// Issue 17 §6: the spellings of the inside that the URL parsers read differently, and
    /// the IPv6 forms that carry an internal IPv4, are refused when the channel is created
    /// (private webhooks not allowed). 6to4, IPv4-compatible, IPv4-translated and site-local
    /// addresses passed on c1ebd4d.
    @Test func everySpellingOfTheInsideIsRefusedWhenTheChannelIsCreated() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let client = try BlockingHTTPClient(port: service.port)
        for url in [
            "https://a@127.0.0.1@example.org/h", "https://0x7f.1/h", "https://017700000001/h", "https://127.1/h", "https://%31%32%37.0.0.1/h",
            "https://[fe80::1%25eth0]/h", "https://[64:ff9b::7f00:1]/h", "https://[64:ff9b:1::a00:1]/h",
            "https://[2002:7f00:1::1]/h", "https://[2002:a9fe:a9fe::1]/h", "https://[::127.0.0.1]/h", "https://[::ffff:0:7f00:1]/h",
            "https://[fec0::1]/h", "https://[::ffff:8.8.8.8]/h",
        ] {
            let body = #"{"name":"Desk","kind":"diplomatic_desk","organisation":"FPS","contact":"d@example.org","channels":[{"type":"webhook","url":"\#(url)"}],"subscriptions":[{"countries":["BY"],"min_severity":"low"}]}"#
            let response = try client.request("POST", "/v1/subscribers", body: body, headers: auth)
            #expect(response.status == 422 && response.text.contains("channels[0].url"), "\(url): \(response.text)")
        }
    }
}
