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
        #expect(configuration.listen == "127.0.0.1:8080" && configuration.backend == .embedded)
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

@Suite struct MetricsTests {
    @Test func rendersPrometheusText() {
        let metrics = Metrics()
        metrics.describe("vigil_alerts_received_total", type: "counter", help: "Alerts appended.")
        metrics.increment("vigil_alerts_received_total", labels: "severity=\"critical\"")
        metrics.increment("vigil_alerts_received_total", labels: "severity=\"critical\"")
        metrics.observe("vigil_ingest_seconds", 0.002)
        metrics.gauge("vigil_log_last_offset") { 7 }
        let text = metrics.render()
        #expect(text.contains("# TYPE vigil_alerts_received_total counter\n"))
        #expect(text.contains("vigil_alerts_received_total{severity=\"critical\"} 2\n"))
        #expect(text.contains("vigil_ingest_seconds_bucket{le=\"0.0025\"} 1\n"))
        #expect(text.contains("vigil_ingest_seconds_bucket{le=\"0.001\"} 0\n"))
        #expect(text.contains("vigil_ingest_seconds_count 1\n"))
        #expect(text.contains("vigil_log_last_offset 7\n"))
    }
}

@Suite struct LoggerTests {
    @Test func quotesAsJSON() throws {
        let quoted = Logger.quote("a \"b\"\n\\c\u{1}")
        #expect(try JSONDecoder().decode(String.self, from: Data(quoted.utf8)) == "a \"b\"\n\\c\u{1}")
    }
}
