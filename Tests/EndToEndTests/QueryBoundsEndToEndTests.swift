import Foundation
import Testing
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Numbers from outside never trap the real service: `GET /v1/alerts?after=9223372036854775807`
/// used to kill the process (`after + 1`). Runs on both backends (`VIGIL_E2E_LOG=kafka`).
@Suite(.serialized) struct QueryBoundsEndToEndTests {
    @Test func outOfRangeQueryParametersAreRefusedAndTheServiceStaysUp() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let alert = try file(service.port, confidentiality: "public")
        let cases: [(String, String)] = [
            ("/v1/alerts?after=9223372036854775807", "after"), ("/v1/alerts?after=-1", "after"), ("/v1/alerts?after=1e30", "after"),
            ("/v1/alerts?after=abc", "after"), ("/v1/alerts?limit=-5", "limit"), ("/v1/alerts?limit=99999999999999999999", "limit"),
            ("/v1/alerts?wait=9999999999", "wait"), ("/v1/alerts?after=end&wait=1e308", "wait"),
            ("/v1/audit?after=9223372036854775807", "after"), ("/v1/audit?limit=99999999999999999999", "limit"),
            ("/v1/deliveries?state=dead&limit=abc", "limit"), ("/v1/deliveries?state=dead&limit=-5", "limit"),
        ]
        for (path, parameter) in cases {
            let response = try BlockingHTTPClient(port: service.port).request("GET", path, headers: auth)
            #expect(response.status == 400, "\(path): \(response.status) \(response.text)")
            #expect(response.text.contains(parameter), "\(path): \(response.text)")
        }
        let replay = try BlockingHTTPClient(port: service.port).request(
            "POST", "/v1/replays", body: #"{"from_offset":9223372036854775807,"to_offset":1e30,"dry_run":true}"#, headers: auth)
        #expect(replay.status == 422 && replay.text.contains("from_offset") && replay.text.contains("to_offset"), "\(replay.text)")
        // Still up, and a sound listing still works.
        let client = try BlockingHTTPClient(port: service.port)
        #expect(try client.request("GET", "/healthz").status == 200)
        let listing = try client.request("GET", "/v1/alerts?after=0&limit=10", headers: auth)
        #expect(listing.status == 200 && listing.text.contains(alert))
        #expect(try client.request("GET", "/v1/alerts?after=9007199254740991&limit=1", headers: auth).status == 200)
        #expect(service.terminationStatus == nil)
    }

    /// One token holds at most four long polls; a fifth is answered 429 at once, and another
    /// token is not affected.
    @Test func longPollsAreCappedPerToken() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let other = try issueToken(service, org: "reader", scopes: "alerts:read", clearance: "public")
        let port = service.port
        let statuses = StatusList()
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                let status = (try? BlockingHTTPClient(port: port, timeout: 10).request("GET", "/v1/alerts?after=end&wait=3", headers: auth).status) ?? -1
                statuses.append(status)
            }
        }
        // Once the four are waiting, a fifth is refused at once.
        #expect(try eventually(2.5) {
            try BlockingHTTPClient(port: port).request("GET", "/metrics").text.contains("vigil_api_long_polls_waiting 4")
        })
        let fifth = try BlockingHTTPClient(port: port).request("GET", "/v1/alerts?after=end&wait=2", headers: auth)
        #expect(fifth.status == 429 && fifth.headers["retry-after"] != nil, "\(fifth.text)")
        let others = try BlockingHTTPClient(port: port).request("GET", "/v1/alerts?after=end&wait=0.2", headers: other.headers)
        #expect(others.status == 200)
        #expect(group.wait(timeout: .now() + 10) == .success)
        #expect(statuses.all == [200, 200, 200, 200])
    }

    /// With `metrics_token` set, `/metrics` needs it; `/healthz` never needs a token.
    @Test func metricsCanRequireAToken() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: ["VIGIL_METRICS_TOKEN": "scrape-secret-0123456789"])
        let client = try BlockingHTTPClient(port: service.port)
        #expect(try client.request("GET", "/metrics").status == 401)
        #expect(try client.request("GET", "/metrics", headers: ["Authorization": "Bearer not-the-scrape-secret"]).status == 401)
        let scraped = try client.request("GET", "/metrics", headers: ["Authorization": "Bearer scrape-secret-0123456789"])
        #expect(scraped.status == 200 && scraped.text.contains("vigil_dead_letters"))
        #expect(try client.request("GET", "/healthz").status == 200)
    }
}

/// Statuses gathered from several threads.
final class StatusList: @unchecked Sendable {  // every access holds `lock`
    private let lock = NSLock()
    private var statuses: [Int] = []
    func append(_ status: Int) { lock.withLock { statuses.append(status) } }
    var all: [Int] { lock.withLock { statuses } }
}
