import Foundation
import Testing
import VigilTestSupport
@testable import VigilServer

func writeConfig(_ text: String) -> String {
    let path = (TemporaryDirectory.make("vigil-config") as NSString).appendingPathComponent("vigil.json")
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
}

@Suite struct ConfigurationTests {
    @Test func defaultsNeedNoFile() throws {
        let configuration = try VigilConfiguration.load(file: nil, environment: [:])
        #expect(configuration.listen == "127.0.0.1:8080" && configuration.log == .embedded)
        #expect(try VigilConfiguration.load(file: nil, environment: ["VIGIL_STORE_CACHE_MIB": "32"]).storeCacheMiB == 32)
    }

    @Test func environmentOverridesTheFileAndFlagsOverrideBoth() throws {
        let file = writeConfig(#"{"_comment": "x", "listen": "127.0.0.1:9000", "data_dir": "/var/lib/vigil", "max_connections": 50}"#)
        let configuration = try VigilConfiguration.load(
            file: file, environment: ["VIGIL_LISTEN": "[::1]:9100", "VIGIL_ALLOW_PRIVATE_WEBHOOKS": "true", "VIGIL_MAX_BODY_BYTES": "2048"],
            overrides: ["data_dir": "/tmp/vigil"])
        #expect(configuration.listen == "[::1]:9100")
        #expect(configuration.listenAddress?.host == "::1" && configuration.listenAddress?.port == 9100)
        #expect(configuration.dataDir == "/tmp/vigil")
        #expect(configuration.allowPrivateWebhooks && configuration.maxBodyBytes == 2048 && configuration.maxConnections == 50)
    }

    /// Acknowledgement links (issue 19) are made on `public_url`, or on the address the server bound.
    @Test func ackLinksUseThePublicURLOrTheBoundAddress() throws {
        var configuration = VigilConfiguration()
        configuration.listen = "127.0.0.1:0"
        let unset = PublicURL(configuration)
        unset.bound(host: "127.0.0.1", port: 41234)
        #expect(unset.value == "http://127.0.0.1:41234")
        let ipv6 = PublicURL(configuration)
        ipv6.bound(host: "::1", port: 8080)
        #expect(ipv6.value == "http://[::1]:8080")
        configuration.publicURL = "https://vigil.example.org/desk/"
        let set = PublicURL(configuration)
        set.bound(host: "127.0.0.1", port: 41234)
        #expect(set.value == "https://vigil.example.org/desk", "a configured base is kept, without its trailing slash")
        #expect(BackendAssembly.eventReminderSeconds(VigilConfiguration()) == 86_400)
    }

    @Test(arguments: [
        ([String: String]?.none, ["VIGIL_LISTEN": "8080"], "listen"),
        (nil, ["VIGIL_LISTEN": "host:99999"], "listen"),
        (nil, ["VIGIL_LOG": "postgres://db"], "log"),
        (nil, ["VIGIL_LOG": "kafka://"], "log"),
        (nil, ["VIGIL_SMTP_URL": "http://mail"], "smtp_url"),
        (nil, ["VIGIL_BOOTSTRAP_TOKEN": "short"], "bootstrap_token"),
        (nil, ["VIGIL_ALLOW_PRIVATE_WEBHOOKS": "maybe"], "VIGIL_ALLOW_PRIVATE_WEBHOOKS"),
        (nil, ["VIGIL_MAX_CONNECTIONS": "many"], "VIGIL_MAX_CONNECTIONS"),
        (nil, ["VIGIL_MAX_BODY_BYTES": "10"], "max_body_bytes"),
        (nil, ["VIGIL_STORE_CACHE_MIB": "0"], "store_cache_mib"),
        (nil, ["VIGIL_PUBLIC_URL": "ftp://vigil.example.org"], "public_url"),
        (nil, ["VIGIL_PUBLIC_URL": "https://vigil.example.org/?next=evil"], "public_url"),
        (nil, ["VIGIL_EVENT_REMINDER_HOURS": "0"], "event_reminder_hours"),
        (nil, ["VIGIL_EVENT_REMINDER_HOURS": "1e12"], "event_reminder_hours"),
        (["listen_on": "x"], [:], "listen_on"),
    ] as [([String: String]?, [String: String], String)])
    func refusesBadSettingsNamingTheKey(file: [String: String]?, environment: [String: String], key: String) {
        let path = file.map { writeConfig(String(decoding: try! JSONEncoder().encode($0), as: UTF8.self)) }
        do {
            _ = try VigilConfiguration.load(file: path, environment: environment)
            Issue.record("accepted a bad \(key)")
        } catch {
            #expect(error.description.contains(key), "\(error.description)")
        }
    }

    @Test func parsesKafkaBootstrapServers() {
        #expect(LogBackend("kafka://a:9092,b:9092") == .kafka(bootstrapServers: ["a:9092", "b:9092"]))
    }
}

/// The one table of settings drives the file, the variables, the flags, validation, `--help`
/// and the README's table (issue 18, point 7).
@Suite struct SettingsTableTests {
    let settings = VigilConfiguration.settings

    @Test func everyPropertyIsOneSettingWithItsOwnKeyVariableAndFlag() {
        #expect(settings.count == Mirror(reflecting: VigilConfiguration()).children.count)
        #expect(Set(settings.map(\.key)).count == settings.count)
        #expect(Set(settings.map { $0.keyPath as AnyKeyPath }).count == settings.count)
        #expect(settings.allSatisfy { $0.key.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" } })
        #expect(VigilConfiguration.settings.first { $0.key == "data_dir" }?.environmentVariable == "VIGIL_DATA_DIR")
        #expect(VigilConfiguration.settings.first { $0.key == "data_dir" }?.flagName == "data-dir")
    }

    /// `| `key` | `VARIABLE` | default | meaning |` rows of a Markdown table, by key.
    func rows(_ markdown: Substring) -> [String: [String]] {
        var rows: [String: [String]] = [:]
        for line in markdown.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            rows[cells[1].replacingOccurrences(of: "`", with: "")] = [cells[2], cells[3]]
        }
        return rows
    }

    @Test func theREADMEListsEverySettingWithItsVariableAndDefault() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "\n### Settings\n").dropFirst().first?.components(separatedBy: "\n#").first)
        let documented = rows(Substring(section)), generated = rows(Substring(VigilConfiguration.settingsTable))
        #expect(generated.count == settings.count)
        for (key, row) in generated { #expect(documented[key] == row, "README row of \(key)") }
        #expect(Set(documented.keys) == Set(generated.keys))
    }

    @Test func helpAndUsageComeFromTheTable() {
        let help = VigilConfiguration.settingsHelp()
        for setting in settings {
            #expect(help.contains("  \(setting.key) (\(setting.environmentVariable)"))
            #expect(help.contains("default \(setting.defaultText ?? "none"))"))
        }
        #expect(help.contains("--data-dir DIR") && help.contains("default <data_dir>/master.key") && !help.contains("`"))
        #expect(help.split(separator: "\n").allSatisfy { $0.count <= 100 })
        #expect(VigilConfiguration.flagUsages == [
            "[--listen HOST:PORT]", "[--data-dir DIR]", "[--log embedded|kafka://HOST:PORT,…]", "[--smtp-url smtp://HOST:PORT]",
            "[--bootstrap-token SECRET]", "[--allow-private-webhooks]", "[--role all|ingest|router|worker]",
        ])
    }

    @Test func logAndRoleAreParsedValues() throws {
        let kafka = try VigilConfiguration.load(file: nil, environment: ["VIGIL_LOG": "kafka://a:9092,b:9092", "VIGIL_ROLE": "router"])
        #expect(kafka.log == .kafka(bootstrapServers: ["a:9092", "b:9092"]) && kafka.role == .router)
        #expect(kafka.log.description == "kafka://a:9092,b:9092" && kafka.storePath.hasSuffix("vigil-kafka-cache.sqlite"))
        #expect(try VigilConfiguration.load(file: nil, environment: [:]).role == .all)
        #expect(throws: ConfigurationError.invalid(key: "role", message: "must be all, ingest, router or worker, got 'boss'")) {
            try VigilConfiguration.load(file: nil, environment: ["VIGIL_ROLE": "boss"])
        }
        #expect(throws: ConfigurationError.invalid(
            key: "role", message: "'worker' needs the Kafka backend (log=kafka://…); the embedded log runs every part in one process")) {
            try VigilConfiguration.load(file: nil, environment: [:], overrides: ["role": "worker"])
        }
        #expect(throws: ConfigurationError.invalid(key: "log", message: "must be 'embedded' or 'kafka://host:port[,host:port…]', got 'kafka://a'")) {
            try LogBackend(parsing: "kafka://a")
        }
    }

    @Test func fileValuesMustHaveTheSettingsType() throws {
        for (json, key) in [
            (#"{"max_connections": "50"}"#, "max_connections"), (#"{"max_connections": 50.5}"#, "max_connections"),
            (#"{"allow_private_webhooks": "yes"}"#, "allow_private_webhooks"), (#"{"listen": 8080}"#, "listen"),
            (#"{"role": ["router"]}"#, "role"), (#"{"log": "postgres://db"}"#, "log"),
        ] {
            do {
                _ = try VigilConfiguration.load(file: writeConfig(json), environment: [:])
                Issue.record("accepted \(json)")
            } catch {
                #expect(error.description.hasPrefix("configuration: \(key) "), "\(error.description)")
            }
        }
        let nulls = try VigilConfiguration.load(file: writeConfig(#"{"smtp_url": null, "max_connections": null, "max_body_bytes": 2048.0}"#), environment: [:])
        #expect(nulls.smtpURL == nil && nulls.maxConnections == 1024 && nulls.maxBodyBytes == 2048)
    }

    @Test func onlyTheWinningSourceIsRead() throws {
        // A variable replaces a wrong value in the file, and a flag a wrong variable, unread.
        let file = writeConfig(#"{"max_connections": "many", "role": "boss", "log": "kafka://k:9092"}"#)
        let configuration = try VigilConfiguration.load(
            file: file, environment: ["VIGIL_MAX_CONNECTIONS": "10", "VIGIL_ROLE": "boss", "VIGIL_ALLOW_PRIVATE_WEBHOOKS": "maybe"],
            overrides: ["role": "worker", "allow_private_webhooks": "true"])
        #expect(configuration.maxConnections == 10 && configuration.role == .worker && configuration.allowPrivateWebhooks)
        #expect(configuration.log == .kafka(bootstrapServers: ["k:9092"]))
    }

    @Test func validateChecksValuesSetInCode() {
        var configuration = VigilConfiguration()
        #expect(throws: Never.self) { try configuration.validate() }
        configuration.workerConcurrency = 2e9
        #expect(throws: ConfigurationError.invalid(key: "worker_concurrency", message: "must be greater than 0 and at most 1000000000")) {
            try configuration.validate()
        }
        configuration = VigilConfiguration()
        configuration.masterKey = String(repeating: "ab", count: 32)
        configuration.masterKeyFile = "/tmp/key"
        #expect(throws: ConfigurationError.invalid(key: "master_key_file", message: "cannot be set together with master_key; choose one")) {
            try configuration.validate()
        }
    }
}
