import Foundation
import Testing
import VigilKafka
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `vigil check` against real deployments (issue 24): a service's own data directory passes,
/// a wrong master key, a data directory others can read, a closed SMTP port and (on Kafka) a
/// missing topic each fail with a line naming the problem, and nothing missing is created.
@Suite(.serialized) struct CheckCommandEndToEndTests {
    /// Runs `vigil check` with `environment` (a settings file of its own, so the checkout's
    /// `config/vigil.json` is never read).
    private func check(_ environment: [String: String], _ arguments: [String] = []) throws -> VigilCommand.Output {
        let settings = TemporaryDirectory.make("vigil-check") + "/vigil.json"
        _ = FileManager.default.createFile(atPath: settings, contents: Data("{}".utf8))
        return try VigilCommand.run(["check", "--config", settings] + arguments, environment: environment, timeout: 60)
    }

    /// A data directory only its owner may enter, as systemd's StateDirectoryMode=0700 makes it.
    private func closed(_ directory: String) {
        #expect(chmod(directory, 0o700) == 0)
    }

    @Test func aRunningServicesDeploymentPassesEveryCheck() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        closed(service.dataDir)
        // Beside the running service, as a readiness probe would run it.
        let result = try check(service.commandEnvironment)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.allSatisfy { $0.hasPrefix("ok    ") }, "\(result.stdout)")
        // On Kafka the master key is held against vigil.keys, after the topics are found.
        let names = EndToEndBackend.isKafka
            ? ["settings", "data directory", "master key", "smtp", "kafka", "kafka topics", "store"]
            : ["settings", "data directory", "master key", "store", "smtp"]
        #expect(lines.map { String($0.dropFirst(6).prefix { $0 != ":" }) } == names, "\(result.stdout)")
        #expect(result.stdout.contains(EndToEndBackend.isKafka ? "ok    store: the master key is the one vigil.keys records" : "ok    store: the master key opens"), "\(result.stdout)")

        let json = try check(service.commandEnvironment, ["--json"])
        #expect(json.status == 0, "\(json.stdout)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(report["ok"] as? Bool == true)
        let checks = try #require(report["checks"] as? [[String: Any]])
        #expect(checks.count == names.count && checks.allSatisfy { $0["ok"] as? Bool == true && $0["name"] is String && $0["detail"] is String })
    }

    @Test func aWrongMasterKeyFailsNamingIt() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        service.kill(signal: SIGTERM)
        closed(service.dataDir)
        var environment = service.commandEnvironment
        environment["VIGIL_MASTER_KEY"] = String(repeating: "ab", count: 32)
        let result = try check(environment)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let named = EndToEndBackend.isKafka
            ? "FAIL  master key: the master key is not the one vigil.keys was started with"
            : "FAIL  master key: the master key does not open the keys in \(service.dataDir)/vigil.keys.sqlite"
        #expect(result.stdout.contains(named), "\(result.stdout)")
        #expect(!result.stdout.contains("ok    store"), "\(result.stdout)")
        let json = try check(environment, ["--json"])
        #expect(json.status == 1 && json.stdout.contains(#""ok":false"#), "\(json.stdout)")
        // The right key (the file vigil serve made) still passes: the check changed nothing.
        let right = try check(service.commandEnvironment)
        #expect(right.status == 0, "\(right.stdout)")
    }

    @Test func aDataDirectoryOthersCanReadFails() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        #expect(chmod(service.dataDir, 0o755) == 0)
        let result = try check(service.commandEnvironment)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("FAIL  data directory: \(service.dataDir) has mode 755") && result.stdout.contains("chmod"), "\(result.stdout)")
    }

    @Test func missingStoreAndKeyAreReportedNotCreated() throws {
        // The embedded store's files; on Kafka the store is a cache and the key check is the topic's.
        guard EndToEndBackend.isEmbedded else { return }
        let directory = TemporaryDirectory.make("vigil-check-fresh")
        closed(directory)
        let result = try check(["VIGIL_DATA_DIR": directory, "VIGIL_LOG": "embedded"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("does not exist yet") && result.stdout.contains("no store at"), "\(result.stdout)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty, "vigil check created files")

        let absent = directory + "/absent"
        let missing = try check(["VIGIL_DATA_DIR": absent, "VIGIL_LOG": "embedded"])
        #expect(missing.status == 1 && missing.stdout.contains("FAIL  data directory: \(absent) does not exist"), "\(missing.stdout)")
        #expect(!FileManager.default.fileExists(atPath: absent))
    }

    @Test func smtpIsCheckedOnAClosedPortAndOnARealRelay() throws {
        // The relay check does not depend on the log; the embedded pass covers it.
        guard EndToEndBackend.isEmbedded else { return }
        let directory = TemporaryDirectory.make("vigil-check-smtp")
        closed(directory)
        var environment = ["VIGIL_DATA_DIR": directory, "VIGIL_LOG": "embedded"]

        // A loopback port nothing listens on: bound, then closed.
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        close(socket)
        #expect(bound)
        let closedPort = Int(UInt16(bigEndian: address.sin_port))
        environment["VIGIL_SMTP_URL"] = "smtp://127.0.0.1:\(closedPort)"
        let refused = try check(environment)
        #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stdout.contains("FAIL  smtp: smtp://127.0.0.1:\(closedPort)"), "\(refused.stdout)")

        let relay = try HelperProcess(file: receiversDirectory + "/smtp_receiver.py", arguments: [directory + "/mail.jsonl"])
        environment["VIGIL_SMTP_URL"] = "smtp://127.0.0.1:\(relay.port)"
        let reached = try check(environment)
        #expect(reached.status == 0, "\(reached.stdout)\(reached.stderr)")
        #expect(reached.stdout.contains("ok    smtp: smtp://127.0.0.1:\(relay.port) greets and answers NOOP"), "\(reached.stdout)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/mail.jsonl"), "the check sent no mail")
    }

    @Test func aKafkaClusterMissingATopicFailsNamingIt() throws {
        // Topics exist only on Kafka.
        guard EndToEndBackend.isKafka else { return }
        let cluster = try KafkaMockCluster()
        for topic in KafkaTopics.all(partitions: 2, replicationFactor: 1) where topic.name != "vigil.keys" {
            try cluster.createTopic(topic.name, partitions: 2)
        }
        let directory = TemporaryDirectory.make("vigil-check-kafka")
        closed(directory)
        let environment = ["VIGIL_DATA_DIR": directory, "VIGIL_LOG": "kafka://\(cluster.bootstrapServers)"]
        let result = try check(environment)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("ok    kafka: \(cluster.bootstrapServers) answers"), "\(result.stdout)")
        #expect(result.stdout.contains("FAIL  kafka topics: missing: vigil.keys;") && result.stdout.contains("vigil kafka init"), "\(result.stdout)")

        // Asking did not make the broker create it.
        try cluster.createTopic("vigil.keys", partitions: 2)
        let complete = try check(environment)
        #expect(complete.status == 0 && complete.stdout.contains("ok    kafka topics: all \(KafkaTopics.all(partitions: 2, replicationFactor: 1).count) exist with 2 partitions each"), "\(complete.stdout)")
    }
}
