import Foundation
import VigilCore
import VigilDelivery
import VigilKafka
import VigilStore

/// Every setting of a running Vigil, loaded from a JSON file (`config/vigil.json`) and
/// overridable key by key with `VIGIL_<KEY>` environment variables (`listen` ↔
/// `VIGIL_LISTEN`, `data_dir` ↔ `VIGIL_DATA_DIR`, …), then command-line flags. A property's
/// initial value is the setting's default; its key, variable, flag, check and help are in
/// `VigilConfiguration.settings`, the one table everything that reads settings walks.
public struct VigilConfiguration: Sendable, Equatable {
    /// Address of the HTTP API, `host:port` (`[::1]:8080` for IPv6); port 0 picks a free one.
    public var listen = "127.0.0.1:8080"
    /// Directory of the embedded store.
    public var dataDir = "./data"
    /// The alert log: the embedded store, or a Kafka cluster.
    public var log = LogBackend.embedded
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
    /// Whether the console's cookies carry `Secure` (also when `public_url` is https).
    public var consoleSecureCookies = false
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
    /// The most sends one webhook endpoint may have in flight once it has shown it answers
    /// quickly (each starts at 4, and falls back when it fails or slows down).
    public var endpointWindowMax = 16.0
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
    /// Failed authentications (unknown tokens, refused feed and acknowledgement-link secrets)
    /// a client address may make a minute before it gets `429`.
    public var authFailureLimit = 10.0
    /// Alerts per second a replay re-routes, so a large replay cannot starve live alerts.
    public var replayRatePerSecond = 2000.0
    /// Which part of the pipeline this process runs: everything, or on Kafka one part.
    public var role = ServiceRole.all
    /// Seconds the Kafka backend waits for the brokers to take a write before answering 503.
    public var kafkaTimeoutSeconds = 10.0
    /// On Kafka, librdkafka's `security.protocol`.
    public var kafkaSecurityProtocol = KafkaSecurity.Transport.plaintext
    /// On Kafka with SASL: the mechanism (`PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`).
    public var kafkaSASLMechanism: String?
    /// On Kafka with SASL: the user name.
    public var kafkaSASLUsername: String?
    /// On Kafka with SASL: the password (prefer `kafka_sasl_password_file` or the variable).
    public var kafkaSASLPassword: String?
    /// On Kafka with SASL: a file holding the password.
    public var kafkaSASLPasswordFile: String?
    /// On Kafka with TLS: the CA bundle the brokers are verified with.
    public var kafkaSSLCALocation: String?
    /// On Kafka with mutual TLS: this client's certificate and key files.
    public var kafkaSSLCertificateLocation: String?
    public var kafkaSSLKeyLocation: String?
    /// When set, `/metrics` answers only `Authorization: Bearer <metrics_token>` (env `VIGIL_METRICS_TOKEN`).
    public var metricsToken: String?
    /// MiB of SQLite page cache for the store's writer (readers get an eighth): more
    /// keeps more of a large store's indexes in memory, at the cost of resident memory.
    public var storeCacheMiB = Double(Database.defaultCacheKiB) / 1024
    /// The base of acknowledgement links (`{public_url}/ack/{token}`); `http://<listen>` when unset.
    public var publicURL: String?
    /// Hours before a case's next event that its desks are reminded of it.
    public var eventReminderHours = 24.0

    /// The defaults.
    public init() {}

    /// Loads the file at `path` (when given, or `config/vigil.json` when it exists), applies
    /// `VIGIL_*` variables from `environment`, then `overrides` (flag values by key), and
    /// validates the result. For each setting only the source that wins is read, so a
    /// variable or flag replaces a wrong value in the file.
    public static func load(
        file path: String?, environment: [String: String], overrides: [String: String] = [:]
    ) throws(ConfigurationError) -> VigilConfiguration {
        let file = try fileSettings(path ?? (FileManager.default.fileExists(atPath: "config/vigil.json") ? "config/vigil.json" : nil))
        var configuration = VigilConfiguration()
        for setting in settings {
            if let text = overrides[setting.key] {
                try setting.apply(text: text, source: setting.flag == nil ? setting.key : "--" + setting.flagName, to: &configuration)
            } else if let text = environment[setting.environmentVariable] {
                try setting.apply(text: text, source: setting.environmentVariable, to: &configuration)
            } else if let value = file[setting.key], value != .null {
                try setting.apply(value, to: &configuration)
            }
        }
        try configuration.validate()
        return configuration
    }

    /// The settings in the file at `path` (none without a file); keys starting with `_` are
    /// comments, any other unknown key is an error so a typo never falls back to a default.
    private static func fileSettings(_ path: String?) throws(ConfigurationError) -> [String: JSONValue] {
        guard let path else { return [:] }
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadableFile(path) }
        guard case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw .invalid(key: path, message: "is not a JSON object of settings")
        }
        let known = Set(settings.map(\.key))
        for key in fields.keys.sorted() where !known.contains(key) && !key.hasPrefix("_") {
            throw .invalid(key: key, message: "is not a setting (in \(path)); known settings: \(known.sorted().joined(separator: ", "))")
        }
        return fields
    }

    /// Checks every setting, then the settings that depend on each other; the error names the
    /// first bad key and what would be right.
    public func validate() throws(ConfigurationError) {
        for setting in Self.settings { try setting.check(self) }
        if role != .all && log == .embedded {
            throw .invalid(key: "role", message: "'\(role.rawValue)' needs the Kafka backend (log=kafka://…); the embedded log runs every part in one process")
        }
        if masterKey != nil, masterKeyFile != nil {
            throw .invalid(key: "master_key_file", message: "cannot be set together with master_key; choose one")
        }
        if kafkaSASLPassword != nil, kafkaSASLPasswordFile != nil {
            throw .invalid(key: "kafka_sasl_password_file", message: "cannot be set together with kafka_sasl_password; choose one")
        }
        if case .kafka = log, let problem = (try kafkaSecurity()).problem { throw .invalid(key: "kafka_security_protocol", message: problem) }
    }

    /// The Kafka security settings as the clients take them, the password read from its file
    /// when one is named.
    public func kafkaSecurity() throws(ConfigurationError) -> KafkaSecurity {
        var password = kafkaSASLPassword
        if let file = kafkaSASLPasswordFile {
            guard let contents = FileManager.default.contents(atPath: file) else {
                throw .invalid(key: "kafka_sasl_password_file", message: "cannot read \(file)")
            }
            password = String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return KafkaSecurity(
            transport: kafkaSecurityProtocol, mechanism: kafkaSASLMechanism.flatMap(KafkaSecurity.Mechanism.init(rawValue:)),
            username: kafkaSASLUsername, password: password, caLocation: kafkaSSLCALocation, certificateLocation: kafkaSSLCertificateLocation,
            keyLocation: kafkaSSLKeyLocation)
    }

    /// The master key file in use when `master_key` is not set.
    public var effectiveMasterKeyFile: String {
        masterKeyFile ?? (dataDir as NSString).appendingPathComponent("master.key")
    }

    /// `listen` split into host and port, or `nil` when malformed.
    public var listenAddress: (host: String, port: Int)? { Self.address(listen) }

    /// `host:port` split into host and port, or `nil` when malformed.
    static func address(_ listen: String) -> (host: String, port: Int)? {
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
        w.endpointWindowCeiling = Int(endpointWindowMax)
        w.leaseMilliseconds = Int64(leaseSeconds * 1000)
        w.webhookTimeoutMilliseconds = Int(webhookTimeoutSeconds * 1000)
        let budget = Int64(retryBudgetSeconds * 1000), base = Int64(retryBaseMilliseconds), cap = Int64(retryCapSeconds * 1000)
        w.standardRetry = RetryPolicy(baseMilliseconds: base, capMilliseconds: cap, budgetMilliseconds: budget)
        w.criticalRetry = RetryPolicy(baseMilliseconds: max(1, base / 4), capMilliseconds: max(min(cap, 1000), cap / 60), budgetMilliseconds: budget)
        w.allowPrivateWebhooks = allowPrivateWebhooks
        w.smtp = smtpURL.map { SMTPSender(url: $0, from: smtpFrom) }
        return w
    }

    /// The SQLite file in `data_dir`: the embedded store, or on Kafka the cache of the shared
    /// topics (with the audit trail and replays), a separate file so switching `log` never
    /// touches the embedded store.
    public var storePath: String {
        (dataDir as NSString).appendingPathComponent(log == .embedded ? "vigil.sqlite" : "vigil-kafka-cache.sqlite")
    }
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

    /// Reads the `role` setting.
    static func parse(_ text: String) -> Result<ServiceRole, SettingProblem> {
        guard let role = ServiceRole(rawValue: text) else { return .failure(SettingProblem(message: "must be all, ingest, router or worker, got '\(text)'")) }
        return .success(role)
    }
}

/// Which alert log a service runs on: the `log` setting, written `embedded` or
/// `kafka://host:port,…`.
public enum LogBackend: Sendable, Equatable, CustomStringConvertible {
    /// The SQLite file in `data_dir`.
    case embedded
    /// A Kafka cluster, by its bootstrap servers.
    case kafka(bootstrapServers: [String])

    /// The `bootstrap.servers` list of the Kafka backend, or `nil` for the embedded one.
    public var kafkaBootstrapServers: String? {
        if case .kafka(let servers) = self { return servers.joined(separator: ",") }
        return nil
    }

    /// The setting as it is written: `embedded` or `kafka://host:port,…`.
    public var description: String {
        switch self {
        case .embedded: "embedded"
        case .kafka(let servers): "kafka://" + servers.joined(separator: ",")
        }
    }

    /// Parses `embedded` or `kafka://host:port,…`; `nil` for anything else.
    public init?(_ text: String) {
        guard case .success(let backend) = LogBackend.parse(text) else { return nil }
        self = backend
    }

    /// Parses `embedded` or `kafka://host:port,…`; the error names the `log` setting.
    public init(parsing text: String) throws(ConfigurationError) {
        switch LogBackend.parse(text) {
        case .success(let backend): self = backend
        case .failure(let problem): throw .invalid(key: "log", message: problem.message)
        }
    }

    /// Reads the `log` setting.
    static func parse(_ text: String) -> Result<LogBackend, SettingProblem> {
        if text == "embedded" { return .success(.embedded) }
        let servers = text.hasPrefix("kafka://") ? text.dropFirst("kafka://".count).split(separator: ",").map(String.init) : []
        guard !servers.isEmpty, servers.allSatisfy({ $0.contains(":") }) else {
            return .failure(SettingProblem(message: "must be 'embedded' or 'kafka://host:port[,host:port…]', got '\(text)'"))
        }
        return .success(.kafka(bootstrapServers: servers))
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
