import Foundation
import Synchronization
import VigilCore
import VigilHTTPClient

/// The client of `vigil bench crash`: a thread of its own filing alerts at a steady rate to
/// whichever port the ingest process has at the moment, through kills and restarts, and
/// keeping the id of every alert answered `202`, with its country. A request the kill cut
/// off is not retried: its alert was never acknowledged (it may still be in the log).
final class CrashFiler: Sendable {
    private struct State {
        var port = 0
        var stopping = false
        var finished = false
        var acknowledged: [(id: String, country: String)] = []
        var refused = 0
    }

    private let state = Mutex(State())
    private let rate: Double
    private let token: String
    private let countries: [String]

    /// A filer of `rate` alerts per second with `token`, cycling through `countries`.
    init(rate: Double, token: String, countries: [String]) {
        self.rate = rate
        self.token = token
        self.countries = countries
    }

    /// Where to file from now on (the ingest process's port after a restart).
    func file(to port: Int) { state.withLock { $0.port = port } }

    /// Starts filing on a thread of its own.
    func start() {
        let thread = Thread { [self] in loop() }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Stops filing and waits (at most 10 s) for the request in flight; returns every alert
    /// acknowledged, in order.
    func stop() -> [(id: String, country: String)] {
        state.withLock { $0.stopping = true }
        try? BenchClock.wait(upTo: 10, every: 0.005, failure: "") { state.withLock { $0.finished } }
        return state.withLock { $0.acknowledged }
    }

    /// Alerts acknowledged so far.
    var acknowledgedCount: Int { state.withLock { $0.acknowledged.count } }

    /// Answers other than `202` (the service stopping, or refusing).
    var refused: Int { state.withLock { $0.refused } }

    private func loop() {
        defer { state.withLock { $0.finished = true } }
        let interval = UInt64(1e9 / rate)
        var due = BenchClock.now(), n = 0
        var client: BlockingHTTPClient?, clientPort = 0
        let headers = ["Authorization": "Bearer \(token)", "Content-Type": "application/json"]
        while true {
            let (port, stopping) = state.withLock { ($0.port, $0.stopping) }
            if stopping { return }
            BenchClock.sleep(until: due)
            // After a long outage, no burst to catch up: the rate stays steady.
            due = max(due + interval, BenchClock.now() > due + 1_000_000_000 ? BenchClock.now() : 0)
            if client == nil || clientPort != port {
                client = try? BlockingHTTPClient(port: port, timeout: 5)
                clientPort = port
            }
            guard let connected = client else { continue }
            let country = countries[n % countries.count]
            n += 1
            let body = #"{"country":"\#(country)","threat":"arrest","severity":"high","certainty":"observed","confidentiality":"public","summary":"crash bench \#(n)","defender":{"name":"Bench Defender"}}"#
            guard let response = try? connected.request("POST", "/v1/alerts", body: body, headers: headers) else {
                client = nil  // the kill cut it off: a new connection next time
                continue
            }
            guard response.status == 202, case .object(let fields)? = try? JSONParser.parse(response.body), case .string(let id)? = fields["id"],
                id.utf8.count == 26
            else {
                state.withLock { $0.refused += 1 }
                continue
            }
            state.withLock { $0.acknowledged.append((id, country)) }
        }
    }
}
