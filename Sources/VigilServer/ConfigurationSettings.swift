import Foundation
import VigilKafka
import VigilStore

extension VigilConfiguration {
    /// Every setting, once, in the order `--help` and the README list them. A setting's default
    /// is its property's initial value in `VigilConfiguration`; everything else about it is here.
    public static let settings: [ConfigurationSetting] = [
        ConfigurationSetting(
            "listen", \.listen, .string, flag: .value(placeholder: "HOST:PORT"),
            meaning: "HTTP address; `[::1]:8080` for IPv6; port 0 picks a free one (logged)",
            check: { listen in
                VigilConfiguration.address(listen) == nil ? "must be host:port such as 127.0.0.1:8080 or [::1]:8080, got '\(listen)'" : nil
            }),
        ConfigurationSetting(
            "data_dir", \.dataDir, .string, flag: .value(placeholder: "DIR"),
            meaning: "directory of `vigil.sqlite`",
            check: { $0.isEmpty ? "must name a directory" : nil }),
        ConfigurationSetting(
            "log", \.log, .parsed(LogBackend.parse, show: \.description), flag: .value(placeholder: "embedded|kafka://HOST:PORT,…"),
            meaning: "`embedded` or `kafka://host:port,…`"),
        ConfigurationSetting(
            "smtp_url", \.smtpURL, .optionalString, flag: .value(placeholder: "smtp://HOST:PORT"),
            meaning: "`smtp://host:port` or `smtps://host:port`",
            check: { smtpURL in
                guard let smtpURL else { return nil }
                guard let url = URL(string: smtpURL), ["smtp", "smtps"].contains(url.scheme ?? ""), url.host?.isEmpty == false else {
                    return "must be smtp://host:port or smtps://host:port, got '\(smtpURL)'"
                }
                return nil
            }),
        ConfigurationSetting(
            "bootstrap_token", \.bootstrapToken, .optionalString, flag: .value(placeholder: "SECRET"),
            meaning: "becomes an admin token with every scope and full clearance at start (≥ 16 characters)",
            check: { token in
                if let token, token.count < 16 { return "must be at least 16 characters so it cannot be guessed" }
                return nil
            }),
        ConfigurationSetting(
            "bootstrap_organisation", \.bootstrapOrganisation, .string,
            meaning: "organisation of that token"),
        ConfigurationSetting(
            "subscribers_file", \.subscribersFile, .optionalString,
            meaning: "a JSON array of subscribers stored at start when there are none yet (`config/subscribers.json`)"),
        ConfigurationSetting(
            "allow_private_webhooks", \.allowPrivateWebhooks, .boolean, flag: .switch,
            meaning: "let webhooks reach loopback/private addresses and plain http (tests, demos)"),
        ConfigurationSetting(
            "console_secure_cookies", \.consoleSecureCookies, .boolean,
            meaning: "mark the console's cookies `Secure`: set it when a TLS proxy serves Vigil (on by itself when `public_url` is https)"),
        ConfigurationSetting(
            "smtp_from", \.smtpFrom, .string,
            meaning: "sender of alert emails; its domain ends each `Message-ID`",
            check: { $0.contains("@") ? nil : "must contain an email address, such as Vigil <alerts@example.org>" }),
        positive(
            "webhook_timeout_seconds", \.webhookTimeoutSeconds,
            meaning: "a webhook that has not answered by then has failed (and is retried)"),
        positive(
            "retry_budget_seconds", \.retryBudgetSeconds,
            meaning: "after this long since the first attempt a failing delivery goes to the dead letters"),
        positive(
            "retry_base_milliseconds", \.retryBaseMilliseconds,
            meaning: "first backoff; doubles per attempt, with full jitter (critical alerts: a quarter)"),
        positive(
            "retry_cap_seconds", \.retryCapSeconds,
            meaning: "longest backoff (critical alerts: a sixtieth, at least 1 s)"),
        positive(
            "breaker_threshold", \.breakerThreshold,
            meaning: "consecutive failures that open an endpoint's circuit breaker"),
        positive(
            "breaker_cooldown_seconds", \.breakerCooldownSeconds,
            meaning: "how long it stays open before one trial (doubling up to 10 min)"),
        positive(
            "lease_seconds", \.leaseSeconds,
            meaning: "a delivery claimed by a worker that died is sent again after this (on the embedded log a restart makes it due at once)"),
        positive(
            "worker_concurrency", \.workerConcurrency,
            meaning: "sends in flight at once (4 per endpoint at first, more once it answers quickly: see `endpoint_window_max`)"),
        ConfigurationSetting(
            "endpoint_window_max", \.endpointWindowMax, .number,
            meaning: "the most sends one webhook endpoint may have in flight: its window opens from 4 while it answers quickly (under 1 s) and successfully, halves when it fails, narrows when it is slow",
            check: { $0 >= 4 && $0 <= 256 && $0 == $0.rounded() ? nil : "must be a whole number from 4 to 256" }),
        ConfigurationSetting(
            "max_body_bytes", \.maxBodyBytes, .wholeNumber,
            meaning: "larger bodies get `413`",
            check: { (1024...(64 * 1024 * 1024)).contains($0) ? nil : "must be between 1024 and 67108864" }),
        ConfigurationSetting(
            "max_connections", \.maxConnections, .wholeNumber,
            meaning: "more connections get `503`; the server never takes more than half the process's descriptor limit (`ulimit -n`), so deliveries, the store and Kafka keep room",
            check: { (1...100_000).contains($0) ? nil : "must be between 1 and 100000" }),
        positive(
            "request_timeout_seconds", \.requestTimeoutSeconds,
            meaning: "a request must arrive whole this soon after its first byte, else `408`"),
        positive(
            "idle_timeout_seconds", \.idleTimeoutSeconds,
            meaning: "idle kept-alive connections are closed after this"),
        ConfigurationSetting(
            "metrics_token", \.metricsToken, .optionalString,
            meaning: "when set (16 to 4096 characters), `/metrics` answers only `Authorization: Bearer <metrics_token>` (compared in constant time), `401` otherwise; unset, `/metrics` is open like `/healthz`",
            check: { token in
                if let token, token.utf8.count < 16 || token.utf8.count > 4096 { return "must be 16 to 4096 characters so it cannot be guessed" }
                return nil
            }),
        ConfigurationSetting(
            "master_key", \.masterKey, .optionalString,
            meaning: "the key that wraps every data key: 64 hex digits or base64 of 32 bytes (prefer the variable to the file)",
            check: { text in
                guard let text else { return nil }
                do throws(MasterKeyError) {
                    _ = try MasterKey(text: text)
                    return nil
                } catch {
                    return error.description.replacingOccurrences(of: "master_key must", with: "must")
                }
            }),
        ConfigurationSetting(
            "master_key_file", \.masterKeyFile, .optionalString, documentedDefault: "<data_dir>/master.key",
            meaning: "read when `master_key` is not set; created with a fresh key (mode 0600, logged as a warning) when missing"),
        positive(
            "rate_limit_per_second", \.rateLimitPerSecond,
            meaning: "requests per second each token may make, sustained (token bucket)"),
        positive(
            "rate_limit_burst", \.rateLimitBurst,
            meaning: "requests a token may make at once above that; over it the answer is `429` with `Retry-After`"),
        positive(
            "auth_failure_limit", \.authFailureLimit,
            meaning: "failed authentications (unknown tokens, refused feed and link secrets) a client address may make a minute; over it the answer is `429`"),
        positive(
            "replay_rate_per_second", \.replayRatePerSecond,
            meaning: "alerts per second a replay re-routes, so it cannot starve live alerts"),
        ConfigurationSetting(
            "role", \.role, .parsed(ServiceRole.parse, show: \.rawValue), flag: .value(placeholder: "all|ingest|router|worker"),
            meaning: "on Kafka, the part this process runs: `ingest` (the API), `router`, `worker`, or `all`; the embedded log refuses anything but `all`"),
        positive(
            "kafka_timeout_seconds", \.kafkaTimeoutSeconds,
            meaning: "on Kafka, how long a write may wait for the brokers before the request fails (ingest answers `503`)"),
        ConfigurationSetting(
            "kafka_security_protocol", \.kafkaSecurityProtocol,
            .parsed({ text in
                KafkaSecurity.Transport(rawValue: text).map { .success($0) }
                    ?? .failure(SettingProblem(message: "must be plaintext, ssl, sasl_plaintext or sasl_ssl, got '\(text)'"))
            }, show: \.rawValue),
            meaning: "on Kafka, how every client reaches the brokers: `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl` (librdkafka's `security.protocol`)"),
        ConfigurationSetting(
            "kafka_sasl_mechanism", \.kafkaSASLMechanism, .optionalString,
            meaning: "with SASL: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`",
            check: { $0.map { KafkaSecurity.Mechanism(rawValue: $0) == nil ? "must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512" : nil } ?? nil }),
        ConfigurationSetting("kafka_sasl_username", \.kafkaSASLUsername, .optionalString, meaning: "with SASL: the user name"),
        ConfigurationSetting(
            "kafka_sasl_password", \.kafkaSASLPassword, .optionalString,
            meaning: "with SASL: the password; never logged (prefer the variable or `kafka_sasl_password_file` to writing it in the file)"),
        ConfigurationSetting(
            "kafka_sasl_password_file", \.kafkaSASLPasswordFile, .optionalString,
            meaning: "with SASL: a file holding the password (for systemd's `LoadCredential=` or a Kubernetes secret)"),
        ConfigurationSetting("kafka_ssl_ca_location", \.kafkaSSLCALocation, .optionalString, meaning: "with TLS: the CA bundle the brokers are verified with"),
        ConfigurationSetting(
            "kafka_ssl_certificate_location", \.kafkaSSLCertificateLocation, .optionalString, meaning: "with mutual TLS: this client's certificate"),
        ConfigurationSetting("kafka_ssl_key_location", \.kafkaSSLKeyLocation, .optionalString, meaning: "with mutual TLS: this client's key"),
        ConfigurationSetting(
            "store_cache_mib", \.storeCacheMiB, .number,
            meaning: "SQLite page cache of the embedded store's writer, in MiB (each reader gets an eighth); more keeps more of a large store's indexes in memory, at the cost of resident memory",
            check: { (1...4096).contains($0) ? nil : "must be between 1 and 4096 (MiB of page cache for the store's writer)" }),
        ConfigurationSetting(
            "public_url", \.publicURL, .optionalString, documentedDefault: "http://<listen>",
            meaning: "the address people reach this service at: the base of every `ack_url` (`{public_url}/ack/{token}`) and console invitation link (`{public_url}/console/invite/{token}`)",
            check: { text in
                guard let text else { return nil }
                guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false,
                    url.query == nil, url.fragment == nil, text.utf8.count <= 512
                else { return "must be an http:// or https:// URL without query or fragment, such as https://vigil.example.org, got '\(text)'" }
                return nil
            }),
        ConfigurationSetting(
            "event_reminder_hours", \.eventReminderHours, .number,
            meaning: "desks that received a case get a `case.reminder` this many hours before its `next_event`",
            check: { $0 > 0 && $0 <= 8760 ? nil : "must be greater than 0 and at most 8760 (a year)" }),
    ]

    /// A number that must be greater than 0 and at most 10^9: the upper bound keeps every later
    /// conversion to a whole number (`Int(…)`, milliseconds in `Int64`) from trapping.
    private static func positive(
        _ key: String, _ keyPath: WritableKeyPath<VigilConfiguration, Double> & Sendable, meaning: String
    ) -> ConfigurationSetting {
        ConfigurationSetting(
            key, keyPath, .number, meaning: meaning,
            check: { $0 > 0 && $0 <= 1e9 ? nil : "must be greater than 0 and at most 1000000000" })
    }
}
