import Foundation
import VigilCore
import VigilDelivery
import VigilStore

/// Every setting of a running Vigil, loaded from a JSON file (`config/vigil.json`) and
/// overridable key by key with `VIGIL_<KEY>` environment variables (`listen` ↔
/// `VIGIL_LISTEN`, `data_dir` ↔ `VIGIL_DATA_DIR`, …), then command-line flags.
public struct VigilConfiguration: Codable, Sendable, Equatable {
    /// Address of the HTTP API, `host:port` (`[::1]:8080` for IPv6); port 0 picks a free one.
    public var listen = "127.0.0.1:8080"
    /// Directory of the embedded store.
    public var dataDir = "./data"
    /// `embedded`, or `kafka://host:port,…` for the Kafka backend.
    public var log = "embedded"
    /// SMTP relay for email deliveries, `smtp://host:port` or `smtps://host:port`.
    public var smtpURL: String?
    /// A secret that becomes an admin token with every scope at start (first runs, tests).
    public var bootstrapToken: String?
    /// The organisation of the bootstrap token.
    public var bootstrapOrganisation = "vigil-operators"
    /// A JSON array of subscribers stored at start when there are none yet.
    public var subscribersFile: String?
    /// Lets webhooks reach loopback and private addresses (tests and demos only).
    public var allowPrivateWebhooks = false
    /// Largest request body, in bytes.
    public var maxBodyBytes = 1_048_576
    /// Most HTTP connections open at once.
    public var maxConnections = 1024
    /// Seconds a request may take to arrive whole.
    public var requestTimeoutSeconds = 10.0
    /// Seconds an idle kept-alive connection stays open.
    public var idleTimeoutSeconds = 60.0
    /// The sender of alert emails, for example `Vigil <alerts@vigil.example.org>`.
    public var smtpFrom = "Vigil <vigil@localhost>"
    /// Seconds to wait for a webhook's answer.
    public var webhookTimeoutSeconds = 15.0
    /// Seconds after the first attempt before a delivery goes to the dead letters.
    public var retryBudgetSeconds = 86_400.0
    /// The first retry backoff in milliseconds (critical alerts use a quarter of it).
    public var retryBaseMilliseconds = 1000.0
    /// The longest backoff in seconds (critical alerts: a sixtieth of it, at least 1 s).
    public var retryCapSeconds = 3600.0
    /// Consecutive failures that open an endpoint's circuit breaker.
    public var breakerThreshold = 5.0
    /// Seconds a breaker stays open before a trial (doubling up to ten minutes).
    public var breakerCooldownSeconds = 30.0
    /// Seconds a worker holds a claimed delivery before another may take it.
    public var leaseSeconds = 60.0
    /// Sends in flight at once.
    public var workerConcurrency = 32.0
    /// The master key that wraps every alert's data key: 64 hex digits or base64 of 32
    /// bytes. Prefer `VIGIL_MASTER_KEY` or `master_key_file` to writing it in the file.
    public var masterKey: String?
    /// A file holding the master key; created with a fresh key (mode 0600) when missing.
    /// Defaults to `<data_dir>/master.key` when `master_key` is not set either.
    public var masterKeyFile: String?
    /// Requests per second each token may make, sustained (a token bucket).
    public var rateLimitPerSecond = 200.0
    /// Requests a token may make in a burst above the sustained rate.
    public var rateLimitBurst = 2000.0
    /// Alerts per second a replay re-routes, so a large replay cannot starve live alerts.
    public var replayRatePerSecond = 2000.0
    /// Which part of the pipeline this process runs: `all`, or on Kafka `ingest`, `router` or `worker`.
    public var role = "all"
    /// Seconds the Kafka backend waits for the brokers to take a write before answering 503.
    public var kafkaTimeoutSeconds = 10.0
    /// When set, `/metrics` answers only `Authorization: Bearer <metrics_token>` (env `VIGIL_METRICS_TOKEN`).
    public var metricsToken: String?
    /// MiB of SQLite page cache for the store's writer (readers get an eighth each): more
    /// keeps more of a large store's indexes in memory, at the cost of resident memory.
    public var storeCacheMiB = Double(Database.defaultCacheKiB) / 1024

    enum CodingKeys: String, CodingKey, CaseIterable {
        case listen
        case dataDir = "data_dir"
        case log
        case smtpURL = "smtp_url"
        case bootstrapToken = "bootstrap_token"
        case bootstrapOrganisation = "bootstrap_organisation"
        case subscribersFile = "subscribers_file"
        case allowPrivateWebhooks = "allow_private_webhooks"
        case maxBodyBytes = "max_body_bytes"
        case maxConnections = "max_connections"
        case requestTimeoutSeconds = "request_timeout_seconds"
        case idleTimeoutSeconds = "idle_timeout_seconds"
        case smtpFrom = "smtp_from"
        case webhookTimeoutSeconds = "webhook_timeout_seconds"
        case retryBudgetSeconds = "retry_budget_seconds"
        case retryBaseMilliseconds = "retry_base_milliseconds"
        case retryCapSeconds = "retry_cap_seconds"
        case breakerThreshold = "breaker_threshold"
        case breakerCooldownSeconds = "breaker_cooldown_seconds"
        case leaseSeconds = "lease_seconds"
        case workerConcurrency = "worker_concurrency"
        case masterKey = "master_key"
        case masterKeyFile = "master_key_file"
        case rateLimitPerSecond = "rate_limit_per_second"
        case rateLimitBurst = "rate_limit_burst"
        case replayRatePerSecond = "replay_rate_per_second"
        case kafkaTimeoutSeconds = "kafka_timeout_seconds"
        case storeCacheMiB = "store_cache_mib"
        case metricsToken = "metrics_token"
        case role
    }

    /// Keys whose values are numbers.
    static let numericKeys: Set<CodingKeys> = [
        .maxBodyBytes, .maxConnections, .requestTimeoutSeconds, .idleTimeoutSeconds, .webhookTimeoutSeconds, .retryBudgetSeconds,
        .retryBaseMilliseconds, .retryCapSeconds, .breakerThreshold, .breakerCooldownSeconds, .leaseSeconds, .workerConcurrency,
        .rateLimitPerSecond, .rateLimitBurst, .replayRatePerSecond, .kafkaTimeoutSeconds, .storeCacheMiB,
    ]

    /// The defaults.
    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var d = VigilConfiguration()
        d.listen = try c.decodeIfPresent(String.self, forKey: .listen) ?? d.listen
        d.dataDir = try c.decodeIfPresent(String.self, forKey: .dataDir) ?? d.dataDir
        d.log = try c.decodeIfPresent(String.self, forKey: .log) ?? d.log
        d.smtpURL = try c.decodeIfPresent(String.self, forKey: .smtpURL)
        d.bootstrapToken = try c.decodeIfPresent(String.self, forKey: .bootstrapToken)
        d.bootstrapOrganisation = try c.decodeIfPresent(String.self, forKey: .bootstrapOrganisation) ?? d.bootstrapOrganisation
        d.subscribersFile = try c.decodeIfPresent(String.self, forKey: .subscribersFile)
        d.allowPrivateWebhooks = try c.decodeIfPresent(Bool.self, forKey: .allowPrivateWebhooks) ?? d.allowPrivateWebhooks
        d.maxBodyBytes = try c.decodeIfPresent(Int.self, forKey: .maxBodyBytes) ?? d.maxBodyBytes
        d.maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections) ?? d.maxConnections
        d.requestTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .requestTimeoutSeconds) ?? d.requestTimeoutSeconds
        d.idleTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .idleTimeoutSeconds) ?? d.idleTimeoutSeconds
        d.smtpFrom = try c.decodeIfPresent(String.self, forKey: .smtpFrom) ?? d.smtpFrom
        d.webhookTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .webhookTimeoutSeconds) ?? d.webhookTimeoutSeconds
        d.retryBudgetSeconds = try c.decodeIfPresent(Double.self, forKey: .retryBudgetSeconds) ?? d.retryBudgetSeconds
        d.retryBaseMilliseconds = try c.decodeIfPresent(Double.self, forKey: .retryBaseMilliseconds) ?? d.retryBaseMilliseconds
        d.retryCapSeconds = try c.decodeIfPresent(Double.self, forKey: .retryCapSeconds) ?? d.retryCapSeconds
        d.breakerThreshold = try c.decodeIfPresent(Double.self, forKey: .breakerThreshold) ?? d.breakerThreshold
        d.breakerCooldownSeconds = try c.decodeIfPresent(Double.self, forKey: .breakerCooldownSeconds) ?? d.breakerCooldownSeconds
        d.leaseSeconds = try c.decodeIfPresent(Double.self, forKey: .leaseSeconds) ?? d.leaseSeconds
        d.workerConcurrency = try c.decodeIfPresent(Double.self, forKey: .workerConcurrency) ?? d.workerConcurrency
        d.masterKey = try c.decodeIfPresent(String.self, forKey: .masterKey)
        d.masterKeyFile = try c.decodeIfPresent(String.self, forKey: .masterKeyFile)
        d.rateLimitPerSecond = try c.decodeIfPresent(Double.self, forKey: .rateLimitPerSecond) ?? d.rateLimitPerSecond
        d.rateLimitBurst = try c.decodeIfPresent(Double.self, forKey: .rateLimitBurst) ?? d.rateLimitBurst
        d.replayRatePerSecond = try c.decodeIfPresent(Double.self, forKey: .replayRatePerSecond) ?? d.replayRatePerSecond
        d.role = try c.decodeIfPresent(String.self, forKey: .role) ?? d.role
        d.kafkaTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .kafkaTimeoutSeconds) ?? d.kafkaTimeoutSeconds
        d.storeCacheMiB = try c.decodeIfPresent(Double.self, forKey: .storeCacheMiB) ?? d.storeCacheMiB
        d.metricsToken = try c.decodeIfPresent(String.self, forKey: .metricsToken)
        self = d
    }

    /// The environment variable that overrides `key`.
    static func environmentName(_ key: CodingKeys) -> String { "VIGIL_" + key.rawValue.uppercased() }

    /// Loads the file at `path` (when given, or `config/vigil.json` when it exists), applies
    /// `VIGIL_*` variables from `environment`, then `overrides` (flag values by key), and
    /// validates the result.
    public static func load(
        file path: String?, environment: [String: String], overrides: [String: String] = [:]
    ) throws(ConfigurationError) -> VigilConfiguration {
        var object: [String: JSONValue] = [:]
        let chosen = path ?? (FileManager.default.fileExists(atPath: "config/vigil.json") ? "config/vigil.json" : nil)
        if let chosen {
            guard let data = FileManager.default.contents(atPath: chosen) else { throw .unreadableFile(chosen) }
            guard case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
                throw .invalid(key: chosen, message: "is not a JSON object of settings")
            }
            let known = Set(CodingKeys.allCases.map(\.rawValue))
            for key in fields.keys.sorted() where !known.contains(key) && !key.hasPrefix("_") {
                throw .invalid(key: key, message: "is not a setting (in \(chosen)); known settings: \(known.sorted().joined(separator: ", "))")
            }
            object = fields.filter { !$0.key.hasPrefix("_") }
        }
        for key in CodingKeys.allCases {
            let text = overrides[key.rawValue] ?? environment[environmentName(key)]
            guard let text else { continue }
            switch key {
            case .allowPrivateWebhooks:
                guard let flag = ["true": true, "1": true, "yes": true, "false": false, "0": false, "no": false][text.lowercased()] else {
                    throw .invalid(key: environmentName(key), message: "must be true or false, got '\(text)'")
                }
                object[key.rawValue] = .bool(flag)
            case _ where numericKeys.contains(key):
                guard let number = Double(text) else {
                    throw .invalid(key: environmentName(key), message: "must be a number, got '\(text)'")
                }
                object[key.rawValue] = .number(number)
            default:
                object[key.rawValue] = .string(text)
            }
        }
        let configuration: VigilConfiguration
        do {
            configuration = try JSONDecoder().decode(VigilConfiguration.self, from: JSONEncoder().encode(JSONValue.object(object)))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            let key = context.codingPath.last?.stringValue ?? "?"
            throw .invalid(key: key, message: "has the wrong type: \(context.debugDescription)")
        } catch {
            throw .invalid(key: "?", message: String(describing: error))
        }
        try configuration.validate()
        return configuration
    }

    /// Checks every setting; the error names the first bad key and what would be right.
    public func validate() throws(ConfigurationError) {
        guard listenAddress != nil else {
            throw .invalid(key: "listen", message: "must be host:port such as 127.0.0.1:8080 or [::1]:8080, got '\(listen)'")
        }
        guard !dataDir.isEmpty else { throw .invalid(key: "data_dir", message: "must name a directory") }
        guard backend != nil else {
            throw .invalid(key: "log", message: "must be 'embedded' or 'kafka://host:port[,host:port…]', got '\(log)'")
        }
        guard let role = ServiceRole(rawValue: role) else {
            throw .invalid(key: "role", message: "must be all, ingest, router or worker, got '\(role)'")
        }
        if role != .all && backend == .embedded {
            throw .invalid(key: "role", message: "'\(role.rawValue)' needs the Kafka backend (log=kafka://…); the embedded log runs every part in one process")
        }
        if let smtpURL {
            guard let url = URL(string: smtpURL), ["smtp", "smtps"].contains(url.scheme ?? ""), url.host?.isEmpty == false else {
                throw .invalid(key: "smtp_url", message: "must be smtp://host:port or smtps://host:port, got '\(smtpURL)'")
            }
        }
        if let metricsToken, metricsToken.utf8.count < 16 || metricsToken.utf8.count > 4096 {
            throw .invalid(key: "metrics_token", message: "must be 16 to 4096 characters so it cannot be guessed")
        }
        if let bootstrapToken, bootstrapToken.count < 16 {
            throw .invalid(key: "bootstrap_token", message: "must be at least 16 characters so it cannot be guessed")
        }
        guard (1024...(64 * 1024 * 1024)).contains(maxBodyBytes) else {
            throw .invalid(key: "max_body_bytes", message: "must be between 1024 and 67108864")
        }
        guard (1...100_000).contains(maxConnections) else {
            throw .invalid(key: "max_connections", message: "must be between 1 and 100000")
        }
        guard (1...4096).contains(storeCacheMiB) else {
            throw .invalid(key: "store_cache_mib", message: "must be between 1 and 4096 (MiB of page cache for the store's writer)")
        }
        for (key, value) in [
            ("request_timeout_seconds", requestTimeoutSeconds), ("idle_timeout_seconds", idleTimeoutSeconds),
            ("webhook_timeout_seconds", webhookTimeoutSeconds), ("retry_budget_seconds", retryBudgetSeconds),
            ("retry_base_milliseconds", retryBaseMilliseconds), ("retry_cap_seconds", retryCapSeconds),
            ("breaker_threshold", breakerThreshold), ("breaker_cooldown_seconds", breakerCooldownSeconds),
            ("lease_seconds", leaseSeconds), ("worker_concurrency", workerConcurrency),
            ("rate_limit_per_second", rateLimitPerSecond), ("rate_limit_burst", rateLimitBurst),
            ("replay_rate_per_second", replayRatePerSecond), ("kafka_timeout_seconds", kafkaTimeoutSeconds),
        ] where !(value > 0 && value <= 1e9) {
            // The upper bound keeps every later conversion to a whole number (Int(…)) from trapping.
            throw .invalid(key: key, message: "must be greater than 0 and at most 1000000000")
        }
        if let masterKey {
            do {
                _ = try MasterKey(text: masterKey)
            } catch {
                throw .invalid(key: "master_key", message: error.description.replacingOccurrences(of: "master_key must", with: "must"))
            }
        }
        if masterKey != nil, masterKeyFile != nil {
            throw .invalid(key: "master_key_file", message: "cannot be set together with master_key; choose one")
        }
        guard smtpFrom.contains("@") else { throw .invalid(key: "smtp_from", message: "must contain an email address, such as Vigil <alerts@example.org>") }
    }

    /// The master key file in use when `master_key` is not set.
    public var effectiveMasterKeyFile: String {
        masterKeyFile ?? (dataDir as NSString).appendingPathComponent("master.key")
    }

    /// `listen` split into host and port, or `nil` when malformed.
    public var listenAddress: (host: String, port: Int)? {
        guard let colon = listen.lastIndex(of: ":") else { return nil }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        return (host, port)
    }

    /// The workers' settings.
    public var workerConfiguration: WorkerConfiguration {
        var w = WorkerConfiguration()
        w.maxConcurrent = Int(workerConcurrency)
        w.leaseMilliseconds = Int64(leaseSeconds * 1000)
        w.webhookTimeoutMilliseconds = Int(webhookTimeoutSeconds * 1000)
        let budget = Int64(retryBudgetSeconds * 1000), base = Int64(retryBaseMilliseconds), cap = Int64(retryCapSeconds * 1000)
        w.standardRetry = RetryPolicy(baseMilliseconds: base, capMilliseconds: cap, budgetMilliseconds: budget)
        w.criticalRetry = RetryPolicy(baseMilliseconds: max(1, base / 4), capMilliseconds: max(min(cap, 1000), cap / 60), budgetMilliseconds: budget)
        w.allowPrivateWebhooks = allowPrivateWebhooks
        w.smtp = smtpURL.map { SMTPSender(url: $0, from: smtpFrom) }
        return w
    }

    /// The log backend `log` names, or `nil` when malformed.
    public var backend: LogBackend? { LogBackend(log) }

    /// The SQLite file in `data_dir`: the embedded store, or on Kafka the cache of the shared
    /// topics (with the audit trail and replays), a separate file so switching `log` never
    /// touches the embedded store.
    public var storePath: String {
        (dataDir as NSString).appendingPathComponent(backend?.kafkaBootstrapServers == nil ? "vigil.sqlite" : "vigil-kafka-cache.sqlite")
    }

    /// The role `role` names (`all` when malformed; start-up validation refuses that first).
    public var serviceRole: ServiceRole { ServiceRole(rawValue: role) ?? .all }
}

/// The part of the pipeline a process runs (DESIGN §2, scale by roles).
public enum ServiceRole: String, Sendable, CaseIterable {
    /// Everything: the API, a router and workers.
    case all
    /// The HTTP API: filing, reads, subscribers, tokens, replays.
    case ingest
    /// A member of the router group, turning alerts into deliveries.
    case router
    /// A member of the workers group, sending deliveries.
    case worker

    /// Whether this role serves the whole HTTP API (the others serve health and metrics only).
    public var servesAPI: Bool { self == .all || self == .ingest }
    /// Whether this role routes alerts.
    public var routes: Bool { self == .all || self == .router }
    /// Whether this role sends deliveries.
    public var sends: Bool { self == .all || self == .worker }
}

/// Which alert log a service runs on.
public enum LogBackend: Sendable, Equatable {
    /// The SQLite file in `data_dir`.
    case embedded
    /// A Kafka cluster, by its bootstrap servers.
    case kafka(bootstrapServers: [String])

    /// The `bootstrap.servers` list of the Kafka backend, or `nil` for the embedded one.
    public var kafkaBootstrapServers: String? {
        if case .kafka(let servers) = self { return servers.joined(separator: ",") }
        return nil
    }

    /// Parses `embedded` or `kafka://host:port,…`.
    public init?(_ text: String) {
        if text == "embedded" {
            self = .embedded
            return
        }
        guard text.hasPrefix("kafka://") else { return nil }
        let servers = text.dropFirst("kafka://".count).split(separator: ",").map(String.init)
        guard !servers.isEmpty, servers.allSatisfy({ $0.contains(":") }) else { return nil }
        self = .kafka(bootstrapServers: servers)
    }
}

/// A setting that stops the service from starting.
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration file cannot be read.
    case unreadableFile(String)
    /// A setting is wrong; `key` names it.
    case invalid(key: String, message: String)

    public var description: String {
        switch self {
        case .unreadableFile(let path): "cannot read the configuration file \(path)"
        case .invalid(let key, let message): "configuration: \(key) \(message)"
        }
    }
}
