import Foundation
import Synchronization
import Testing
import VigilCore
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Issue 24's backup and restore: `vigil backup` copies the embedded store while `vigil serve`
/// (another process) keeps filing, `vigil restore` puts it into a new data directory, and a
/// second service started there with the same master key serves every alert acknowledged
/// before the backup began. The embedded store only: on the Kafka pass these tests return at
/// once, except the one that checks that `vigil backup` refuses on Kafka.
@Suite(.serialized) struct BackupEndToEndTests {
    /// What the tests read of `manifest.json`.
    struct Manifest: Decodable {
        struct File: Decodable { let name: String; let bytes: Int64; let sha256: String }
        struct Counts: Decodable { let alerts: Int64; let erased_alerts: Int64; let data_keys: Int64; let deliveries: Int64; let subscribers: Int64 }
        let format: String
        let format_version: Int
        let created_at: String
        let last_offset: Int64
        let counts: Counts
        let master_key_check_sha256: String?
        let files: [File]
    }

    /// One page of `GET /v1/alerts`.
    struct Listing: Decodable {
        struct Item: Decodable {
            struct Person: Decodable { let name: String }
            let id: String
            let offset: Int64
            let defender: Person
        }
        let alerts: [Item]
        let next_cursor: String
    }

    /// What Python's own `sqlite3` and `hashlib` read from a backup directory, to check the
    /// manifest against something other than the code that wrote it.
    static let inspection = """
        import hashlib, json, sqlite3, sys
        d = sys.argv[1]
        out = {"sha256": {}}
        for name in ("vigil.sqlite", "vigil.keys.sqlite"):
            with open(d + "/" + name, "rb") as f:
                out["sha256"][name] = hashlib.sha256(f.read()).hexdigest()
        c = sqlite3.connect("file:" + d + "/vigil.sqlite?immutable=1", uri=True)
        c.execute("ATTACH DATABASE ? AS keys", ("file:" + d + "/vigil.keys.sqlite?immutable=1",))
        one = lambda sql: c.execute(sql).fetchone()[0]
        out["alerts"] = one("SELECT COUNT(*) FROM alerts")
        out["last_offset"] = one("SELECT COALESCE(MAX(log_offset), 0) FROM alerts")
        out["deliveries"] = one("SELECT COUNT(*) FROM deliveries")
        out["subscribers"] = one("SELECT COUNT(*) FROM subscribers")
        out["data_keys"] = one("SELECT COUNT(*) FROM keys.data_keys")
        out["keyless"] = one("SELECT COUNT(*) FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM keys.data_keys k WHERE k.key_id = a.key_id)")
        print(json.dumps(out))
        """

    struct Inspection: Decodable {
        let sha256: [String: String]
        let alerts: Int64, last_offset: Int64, deliveries: Int64, subscribers: Int64, data_keys: Int64, keyless: Int64
    }

    /// Every alert of the service on `port`, oldest first, through the API.
    func allAlerts(_ port: Int) throws -> [Listing.Item] {
        let client = try BlockingHTTPClient(port: port)
        var alerts: [Listing.Item] = []
        var after = "0"
        for _ in 0..<100 {
            let response = try client.request("GET", "/v1/alerts?after=\(after)&limit=1000", headers: auth)
            #expect(response.status == 200, "\(response.text)")
            let page = try JSONDecoder().decode(Listing.self, from: Data(response.body))
            alerts += page.alerts
            if page.alerts.isEmpty { break }
            after = page.next_cursor
        }
        return alerts
    }

    /// `vigil backup --to directory --json` beside `service`; its manifest.
    func backup(_ service: ServiceProcess, to directory: String) throws -> Manifest {
        let run = try VigilCommand.run(["backup", "--to", directory, "--json"], environment: service.commandEnvironment)
        #expect(run.status == 0, "vigil backup: \(run.stderr)")
        return try JSONDecoder().decode(Manifest.self, from: Data(run.stdout.utf8))
    }

    func mode(_ path: String) throws -> Int { try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) }

    /// Alerts filed without pause from another thread while `vigil backup` runs: the manifest
    /// agrees with what Python reads from the copy, and a service started on the restored
    /// directory with the same master key serves every alert acknowledged before the backup
    /// began, its defender's name readable (its data key is there). About 6 s.
    @Test(.timeLimit(.minutes(3))) func aBackupTakenWhileAlertsAreFiledRestoresEveryAcknowledgedAlert() throws {
        guard EndToEndBackend.isEmbedded else { return }  // Kafka keeps the alerts in its topics
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: [
            "VIGIL_ALLOW_PRIVATE_WEBHOOKS": "true", "VIGIL_RATE_LIMIT_PER_SECOND": "100000", "VIGIL_RATE_LIMIT_BURST": "100000",
        ])
        // A desk whose webhook refuses connections, so the copy holds deliveries too.
        let nowhere = try portNobodyListensOn()
        _ = try createSubscriber(service.port, channels: #"[{"type":"webhook","url":"http://127.0.0.1:\#(nowhere)/hook"}]"#)
        let acknowledged = Mutex<[String]>([])
        let filing = Atomic<Bool>(true)
        let port = service.port
        let filer = Thread {
            guard let client = try? BlockingHTTPClient(port: port) else { return }
            // Bounded: at most 5,000 alerts, whatever happens.
            for _ in 0..<5000 where filing.load(ordering: .acquiring) {
                guard let response = try? client.request("POST", "/v1/alerts", body: alertJSON(name: "E2E Defender"), headers: auth),
                    response.status == 202, let accepted = try? JSONDecoder().decode(Accepted.self, from: Data(response.body))
                else { return }
                acknowledged.withLock { $0.append(accepted.id) }
                Thread.sleep(forTimeInterval: 0.002)
            }
        }
        filer.start()
        defer { filing.store(false, ordering: .releasing) }
        #expect(eventually(30) { acknowledged.withLock { $0.count } >= 150 })

        let directory = TemporaryDirectory.make("vigil-backups") + "/backup"
        // Every alert answered 202 by now was committed before the backup began.
        let before = acknowledged.withLock { $0 }
        let manifest = try backup(service, to: directory)
        let during = acknowledged.withLock { $0.count } - before.count
        #expect(eventually(30) { acknowledged.withLock { $0.count } > before.count + during + 20 }, "the service kept filing after the backup")
        filing.store(false, ordering: .releasing)
        #expect(eventually(30) { filer.isFinished })
        print("backup under load: \(before.count) alerts acknowledged before it began, \(during) while it ran, \(manifest.counts.alerts) in the copy")

        #expect(manifest.format == "vigil-backup" && manifest.format_version == 1)
        #expect(manifest.counts.alerts >= Int64(before.count) && manifest.counts.subscribers == 1 && manifest.counts.deliveries > 0)
        #expect(manifest.counts.erased_alerts == 0, "no alert in the copy lacks its data key")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["manifest.json", "vigil.keys.sqlite", "vigil.sqlite"], "never the master key")
        #expect(try mode(directory) == 0o700)
        for name in ["manifest.json", "vigil.keys.sqlite", "vigil.sqlite"] { #expect(try mode(directory + "/" + name) == 0o600, "\(name)") }
        let python = try PythonHelper.run(Self.inspection, arguments: [directory])
        #expect(python.status == 0, "\(python.stderr)")
        let read = try JSONDecoder().decode(Inspection.self, from: Data(python.stdout.utf8))
        for file in manifest.files { #expect(read.sha256[file.name] == file.sha256, "the SHA-256 of \(file.name)") }
        #expect(read.alerts == manifest.counts.alerts && read.last_offset == manifest.last_offset)
        #expect(read.deliveries == manifest.counts.deliveries && read.subscribers == manifest.counts.subscribers)
        #expect(read.data_keys == manifest.counts.data_keys && read.keyless == 0)

        let restoredDirectory = TemporaryDirectory.make("vigil-restored") + "/data"
        let restore = try VigilCommand.run(["restore", "--from", directory, "--data-dir", restoredDirectory])
        #expect(restore.status == 0, "vigil restore: \(restore.stderr)")
        #expect(restore.stderr.contains("erasures made after"), "without --erasures-from it says what the operator must do")
        #expect(try mode(restoredDirectory) == 0o700 && mode(restoredDirectory + "/vigil.sqlite") == 0o600 && mode(restoredDirectory + "/vigil.keys.sqlite") == 0o600)
        let restored = ServiceProcess(dataDir: restoredDirectory)
        defer { restored.kill(signal: SIGKILL) }
        try restored.start(environment: ["VIGIL_MASTER_KEY_FILE": service.dataDir + "/master.key", "VIGIL_RATE_LIMIT_BURST": "100000"])
        let served = try allAlerts(restored.port)
        let names = Dictionary(served.map { ($0.id, $0.defender.name) }, uniquingKeysWith: { first, _ in first })
        let missing = before.filter { names[$0] == nil }
        #expect(missing.isEmpty, "\(missing.count) of \(before.count) alerts acknowledged before the backup are not served: \(missing.prefix(5))")
        let unreadable = before.filter { names[$0] != nil && names[$0] != "E2E Defender" }
        #expect(unreadable.isEmpty, "\(unreadable.count) acknowledged alerts lost their names: \(unreadable.prefix(5))")
        #expect(Int64(served.count) == manifest.counts.alerts && served.last?.offset == manifest.last_offset)
        struct Subscribers: Decodable { struct Item: Decodable { let id: String }; let subscribers: [Item] }
        let subscribers = try BlockingHTTPClient(port: restored.port).request("GET", "/v1/subscribers", headers: auth)
        #expect(try JSONDecoder().decode(Subscribers.self, from: Data(subscribers.body)).subscribers.count == Int(manifest.counts.subscribers))
    }

    /// `vigil backup` refuses a directory that exists; `vigil restore` refuses a target that
    /// is not empty and a backup with one byte changed (naming the file, writing nothing); a
    /// service on the restored directory refuses another master key. About 3 s.
    @Test func backupAndRestoreRefuseWhatTheyMustRefuse() throws {
        guard EndToEndBackend.isEmbedded else { return }
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        _ = try file(service.port, name: "E2E Defender")
        let scratch = TemporaryDirectory.make("vigil-backups")

        let occupied = scratch + "/occupied"
        try FileManager.default.createDirectory(atPath: occupied, withIntermediateDirectories: true)
        try Data("keep me\n".utf8).write(to: URL(fileURLWithPath: occupied + "/notes.txt"))
        let refused = try VigilCommand.run(["backup", "--to", occupied], environment: service.commandEnvironment)
        #expect(refused.status != 0 && refused.stderr.contains("exists already"), "\(refused.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: occupied) == ["notes.txt"], "nothing written into it")

        let directory = scratch + "/backup"
        let manifest = try backup(service, to: directory)
        #expect(manifest.counts.alerts == 1)

        let notEmpty = try VigilCommand.run(["restore", "--from", directory, "--data-dir", occupied])
        #expect(notEmpty.status != 0 && notEmpty.stderr.contains("not an empty directory"), "\(notEmpty.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: occupied) == ["notes.txt"])

        // One byte of the alert store changed, in the middle of the file.
        let tampered = scratch + "/tampered"
        try FileManager.default.copyItem(atPath: directory, toPath: tampered)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: tampered + "/vigil.sqlite"))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: tampered + "/vigil.sqlite"))
        let target = scratch + "/from-tampered"
        let damaged = try VigilCommand.run(["restore", "--from", tampered, "--data-dir", target])
        #expect(damaged.status != 0 && damaged.stderr.contains("vigil.sqlite does not match"), "\(damaged.stderr)")
        #expect(!FileManager.default.fileExists(atPath: target), "nothing restored")

        let restoredDirectory = scratch + "/restored"
        let restore = try VigilCommand.run(["restore", "--from", directory, "--data-dir", restoredDirectory])
        #expect(restore.status == 0, "\(restore.stderr)")
        let other = ServiceProcess(dataDir: restoredDirectory)
        defer { other.kill(signal: SIGKILL) }
        #expect(throws: ServiceProcess.ServiceFailure.self, "another master key is refused") {
            try other.start(environment: ["VIGIL_MASTER_KEY": String(repeating: "cd", count: 32)])
        }
        #expect(other.logs.contains("master key does not open"), "\(other.logs.suffix(400))")
        #expect(other.terminationStatus != 0)
    }

    /// An alert erased after the backup was taken: `vigil restore --erasures-from` the old data
    /// directory erases it in the restored store too, and the restored service shows it
    /// `[erased]` while the other alert keeps its name. About 3 s.
    @Test func anErasureMadeAfterTheBackupStaysMadeAfterRestore() throws {
        guard EndToEndBackend.isEmbedded else { return }
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let erased = try file(service.port, name: "E2E Defender"), kept = try file(service.port, name: "E2E Defender")
        let scratch = TemporaryDirectory.make("vigil-backups")
        _ = try backup(service, to: scratch + "/backup")
        let erasure = try BlockingHTTPClient(port: service.port).request("POST", "/v1/erasures", body: #"{"alert_id":"\#(erased)"}"#, headers: auth)
        #expect(erasure.status == 200, "\(erasure.text)")

        let restoredDirectory = scratch + "/restored"
        let restore = try VigilCommand.run(["restore", "--from", scratch + "/backup", "--data-dir", restoredDirectory, "--erasures-from", service.dataDir])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(restore.stdout.contains("re-applied 1 erasure") && restore.stdout.contains("erased \(erased)"), "\(restore.stdout)")
        let restored = ServiceProcess(dataDir: restoredDirectory)
        defer { restored.kill(signal: SIGKILL) }
        try restored.start(environment: ["VIGIL_MASTER_KEY_FILE": service.dataDir + "/master.key"])
        let names = Dictionary(try allAlerts(restored.port).map { ($0.id, $0.defender.name) }, uniquingKeysWith: { first, _ in first })
        #expect(names[erased] == "[erased]", "the erasure made after the backup holds after the restore")
        #expect(names[kept] == "E2E Defender")
    }

    /// On Kafka there is no local store to copy: `vigil backup` refuses and says what to back
    /// up instead, creating nothing. Runs on both passes (it needs no cluster).
    @Test func backupRefusesOnKafkaAndSaysWhatToBackUp() throws {
        let scratch = TemporaryDirectory.make("vigil-backups")
        let run = try VigilCommand.run(
            ["backup", "--to", scratch + "/backup"], environment: ["VIGIL_LOG": "kafka://127.0.0.1:9", "VIGIL_DATA_DIR": scratch + "/data"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("Kafka's own tools") && run.stderr.contains("vigil.alerts") && run.stderr.contains("vigil.keys"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch + "/backup"))
    }
}
