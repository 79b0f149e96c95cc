import Foundation
import VigilAPI
import VigilCore
import VigilDelivery
import VigilHTTPClient
import VigilObservability
import VigilServer

/// Vigil's side of an Alertmanager comparison: a service on a fresh data directory (on the
/// embedded log, or a Kafka cluster), one subscriber per webhook endpoint, each following
/// the bench alerts' country.
final class ComparedVigil: ComparedSide {
    /// The bootstrap token the bench files with.
    static let token = "bench-token-0123456789abcdef"

    let name = "vigil"
    let port: Int
    private let service: VigilService
    private let cluster: BenchCluster?

    /// Starts a service whose subscribers each get every bench alert at one of `webhooks`;
    /// `kafka` as `IngestBenchmark.kafka`.
    init(webhooks: [String], kafka: String? = nil) throws {
        cluster = try kafka.map { try BenchCluster(address: $0) }
        var configuration = try VigilConfiguration.forBenchmark()
        configuration.listen = "127.0.0.1:0"
        configuration.dataDir = ScratchStore.directory()
        configuration.bootstrapToken = Self.token
        // The load generator files with one token; per-token rate limits are not what is measured.
        configuration.rateLimitPerSecond = 1e9
        configuration.rateLimitBurst = 1e9
        configuration.allowPrivateWebhooks = true
        if let cluster { configuration.log = try LogBackend(parsing: cluster.logSetting) }
        service = try VigilService(configuration: configuration, logging: false)
        port = try service.start()
        for (n, url) in webhooks.enumerated() {
            _ = try SubscribersAPI.store(
                try JSONParser.parse(Array(Self.subscriber(n, url: url).utf8)), replacing: nil, in: service.subscribers, policy: AddressPolicy(allowPrivate: true))
        }
    }

    /// The `n`th bench subscriber: every bench alert, at `url`.
    static func subscriber(_ n: Int, url: String) -> String {
        #"{"name":"Bench \#(n)","kind":"other","organisation":"bench","contact":"b@example.org","channels":[{"type":"webhook","url":"\#(url)"}],"subscriptions":[{"countries":["\#(ComparedAlert.country)"],"min_severity":"low"}]}"#
    }

    /// The bench's own process, which runs the service: the load generator's threads and the
    /// bench's bookkeeping count against Vigil, never for it (`ComparedVigilProcess` measures
    /// the service alone).
    var residentBytes: Double { ProcessMemory.residentBytes() }

    func file(_ keys: [String], on client: BlockingHTTPClient) throws -> Int { try Self.file(keys, on: client, side: name) }

    /// One key: `POST /v1/alerts`; more: `POST /v1/alerts/batch`, counting the `202`s; for
    /// either way of running the service.
    static func file(_ keys: [String], on client: BlockingHTTPClient, side name: String) throws -> Int {
        let headers = ["Authorization": "Bearer \(Self.token)", "Content-Type": "application/json"]
        if keys.count == 1 {
            let response = try client.request("POST", "/v1/alerts", body: Self.alert(keys[0]), headers: headers)
            guard response.status == 202 else { throw ComparisonFailure.refused(side: name, status: response.status, answer: response.text) }
            return 1
        }
        let body = #"{"alerts":["# + keys.map(Self.alert).joined(separator: ",") + "]}"
        let response = try client.request("POST", "/v1/alerts/batch", body: body, headers: headers)
        guard response.status == 200 else { throw ComparisonFailure.refused(side: name, status: response.status, answer: response.text) }
        let accepted = Self.accepted(in: response.body, of: keys.count)
        guard accepted == keys.count else { throw ComparisonFailure.refused(side: name, status: 422, answer: response.text) }
        return accepted
    }

    /// The `accepted` count of a batch's answer, bounded by the alerts sent; 0 for an answer
    /// without one.
    static func accepted(in answer: [UInt8], of sent: Int) -> Int {
        guard case .object(let fields)? = try? JSONParser.parse(answer), case .number(let value)? = fields["accepted"],
            value.isFinite, value >= 0
        else { return 0 }
        // Compared as a Double first: a huge or fractional count must not trap in the conversion.
        return Int(min(Double(sent), value.rounded(.down)))
    }

    /// A bench alert: public (so every subscriber's webhook carries the summary), the key
    /// leading the summary.
    static func alert(_ key: String) -> String {
        #"{"country":"\#(ComparedAlert.country)","threat":"arrest","severity":"critical","certainty":"observed","confidentiality":"public","summary":"\#(key) \#(ComparedAlert.summary)","defender":{"name":"Bench Defender"}}"#
    }

    func stop() {
        service.stop()
        cluster?.release()
        try? FileManager.default.removeItem(atPath: service.configuration.dataDir)
    }
}
