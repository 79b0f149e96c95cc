import Foundation
import VigilDelivery
import VigilKafka
import VigilObservability
import VigilServer
import VigilStore
#if canImport(Glibc)
import Glibc
#endif

/// `vigil check`: reads the settings `vigil serve` would read and tells, line by line, whether
/// the deployment they describe can start: settings, data directory, master key against the
/// store, SMTP relay and (on Kafka) brokers and topics. It creates nothing: a missing store or
/// key is reported, never made.
enum CheckCommand: Command {
    static let path = ["check"]
    static let summary = "check a deployment's settings, data directory, master key, SMTP and Kafka topics"
    static let switches: Set<String> = ServeCommand.switches.union(["json"])
    static let help = """
        usage: vigil check [--config FILE] [any flag of vigil serve] [--json]

        Loads the settings exactly as vigil serve does (the file, VIGIL_* variables, flags) and
        checks, printing one line each, `ok` or `FAIL` with what is wrong and what to do:
          settings         they load and pass every check of vigil serve
          data directory   data_dir exists, this user can write it, other users cannot read it
          master key       master_key or master_key_file is readable and well formed
          store            the master key opens the existing store (the check vigil serve makes
                           at start); on Kafka, it is the key vigil.keys records (read, not written)
          smtp             when smtp_url is set: the relay greets, takes EHLO and NOOP (no mail)
          kafka            on Kafka: a broker answers and every Vigil topic exists, each with
                           as many partitions as vigil.alerts (what vigil kafka init creates)
        It never creates the data directory, the store or a master key: when they are missing
        it says so (vigil serve creates the store and, without master_key, a key file at its
        first start).

        Exit status 0 when every line is ok, 1 otherwise (2 for a wrong flag), so it can run
        before a start (systemd ExecStartPre=) or as a readiness probe (an exec probe beside
        vigil serve; it opens the store read-only). It connects to the relay and the brokers
        each time: give such a probe a period of a minute or more, and keep /readyz for the
        frequent one. --json prints {"ok": …, "checks": [{"name", "ok", "detail", "advice"}…]}.
        """

    /// One line of the report.
    struct Finding: Encodable {
        /// What was checked (`settings`, `data directory`, …).
        let name: String
        /// Whether it passed.
        let ok: Bool
        /// What was found.
        let detail: String
        /// What to do about a failure; empty when it passed.
        let advice: String
    }

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        let json = arguments.flag("json")
        var findings: [Finding] = []
        let configuration: VigilConfiguration?
        do {
            let loaded = try loadConfiguration(&arguments, environment: environment, flagsOf: VigilConfiguration.settings)
            try arguments.finish()
            configuration = loaded
        } catch let error as ConfigurationError {
            try arguments.finish()
            findings.append(Finding(
                name: "settings", ok: false, detail: error.description,
                advice: "fix that setting in the file, its VIGIL_* variable or its flag (vigil serve --help lists them)"))
            configuration = nil
        }
        if let configuration {
            findings.append(Finding(
                name: "settings", ok: true, detail: "loaded and valid (log \(configuration.log), data_dir \(configuration.dataDir))", advice: ""))
            findings.append(dataDirectory(configuration))
            let (keyFindings, key) = masterKeyAndStore(configuration)
            findings += keyFindings
            findings.append(smtp(configuration))
            if let bootstrap = configuration.log.kafkaBootstrapServers { findings += kafka(configuration, bootstrap: bootstrap, masterKey: key) }
        }
        let allOK = findings.allSatisfy(\.ok)
        if json {
            struct Report: Encodable { let ok: Bool; let checks: [Finding] }
            try printJSON(Report(ok: allOK, checks: findings))
        } else {
            for finding in findings {
                let line = (finding.ok ? "ok    " : "FAIL  ") + finding.name + ": " + finding.detail
                print(finding.advice.isEmpty ? line : line + "; " + finding.advice)
            }
        }
        fflush(nil)
        exit(allOK ? 0 : 1)
    }

    /// `data_dir` exists, is a directory this user may write and enter, and others may not read.
    private static func dataDirectory(_ configuration: VigilConfiguration) -> Finding {
        let directory = configuration.dataDir
        let name = "data directory"
        var info = stat()
        guard stat(directory, &info) == 0 else {
            return Finding(
                name: name, ok: false, detail: "\(directory) does not exist (\(String(cString: strerror(errno))))",
                advice: "create it for the user Vigil runs as: install -d -m 700 \(directory) (systemd's StateDirectory= does this)")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            return Finding(name: name, ok: false, detail: "\(directory) is not a directory", advice: "point data_dir at a directory")
        }
        let mode = String(info.st_mode & 0o7777, radix: 8)
        guard access(directory, W_OK | X_OK) == 0 else {
            return Finding(
                name: name, ok: false, detail: "\(directory) (mode \(mode), owner uid \(info.st_uid)) is not writable by uid \(getuid())",
                advice: "run Vigil as the directory's owner or chown it to the user Vigil runs as")
        }
        guard info.st_mode & 0o007 == 0 else {
            return Finding(
                name: name, ok: false, detail: "\(directory) has mode \(mode): other users can reach the store",
                advice: "chmod o-rwx \(directory) (or chmod 700)")
        }
        return Finding(name: name, ok: true, detail: "\(directory) exists, is writable, mode \(mode)", advice: "")
    }

    /// The master key is readable and well formed, and opens the existing store (embedded;
    /// on Kafka the key is returned for `kafka`, which holds it against vigil.keys).
    private static func masterKeyAndStore(_ configuration: VigilConfiguration) -> ([Finding], MasterKey?) {
        let (findings, key) = masterKey(configuration)
        guard let key else { return (findings, nil) }
        return (findings + store(configuration, key), key)
    }

    /// The master key, or the lines saying why there is none (a missing key file is fine
    /// before the first start: the store line says so).
    private static func masterKey(_ configuration: VigilConfiguration) -> ([Finding], MasterKey?) {
        // The embedded store is sealed with the key; on Kafka `kafka` asks vigil.keys instead.
        let storeExists = configuration.log == .embedded && FileManager.default.fileExists(atPath: configuration.storePath)
        let key: MasterKey
        if let text = configuration.masterKey {
            do {
                key = try MasterKey(text: text)
            } catch {
                return ([Finding(name: "master key", ok: false, detail: error.description, advice: "set VIGIL_MASTER_KEY to 64 hex digits")], nil)
            }
        } else {
            let file = configuration.effectiveMasterKeyFile
            var info = stat()
            guard stat(file, &info) == 0 else {
                if storeExists {
                    return ([Finding(
                        name: "master key", ok: false, detail: "master_key_file \(file) is missing but the store \(configuration.storePath) exists",
                        advice: "restore the key this store was created with; vigil serve would make a new one that opens none of its identities")], nil)
                }
                var findings = [
                    Finding(name: "master key", ok: true, detail: "master_key_file \(file) does not exist yet: vigil serve creates it at first start", advice: "")
                ]
                if configuration.log == .embedded {
                    findings.append(Finding(name: "store", ok: true, detail: "no store at \(configuration.storePath) yet: vigil serve creates it", advice: ""))
                }
                return (findings, nil)
            }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                return ([Finding(name: "master key", ok: false, detail: MasterKeyError.fileUnreadable(file).description, advice: "make it readable by the user Vigil runs as (mode 0600 or 0400)")], nil)
            }
            do {
                key = try MasterKey(text: text)
            } catch {
                return ([Finding(name: "master key", ok: false, detail: "\(file): \(error.description)", advice: "put the 64 hex digits of the key in \(file)")], nil)
            }
            guard info.st_mode & 0o007 == 0 else {
                return ([Finding(
                    name: "master key", ok: false, detail: "master_key_file \(file) has mode \(String(info.st_mode & 0o777, radix: 8)): other users can read it",
                    advice: "chmod 600 \(file)")], nil)
            }
        }
        let detail = configuration.masterKey != nil ? "master_key is well formed" : "\(configuration.effectiveMasterKeyFile) holds a well-formed key"
        return ([Finding(name: "master key", ok: true, detail: detail, advice: "")], key)
    }

    /// The embedded store's check record opens under `key` (on Kafka, `kafka` asks vigil.keys).
    private static func store(_ configuration: VigilConfiguration, _ key: MasterKey) -> [Finding] {
        guard configuration.log == .embedded else { return [] }
        let store = configuration.storePath
        do {
            switch try MasterKeyCheck.verify(masterKey: key, storePath: store) {
            case .opens:
                return [Finding(name: "store", ok: true, detail: "the master key opens \(store)", advice: "")]
            case .noStore:
                return [Finding(name: "store", ok: true, detail: "no store at \(store) yet: vigil serve creates it, sealed with this key", advice: "")]
            case .noRecord:
                return [Finding(name: "store", ok: true, detail: "\(store) has no master key record yet: vigil serve records this key at start", advice: "")]
            case .noKeyFile(let keys):
                return [Finding(
                    name: "store", ok: false, detail: "\(store) exists but its key file \(keys) does not: every identity would read as erased",
                    advice: "restore \(keys) with the store (a backup holds both)")]
            }
        } catch let error as MasterKeyError {
            // The description already says what to do: start with the key the store was created with.
            return [Finding(name: "master key", ok: false, detail: error.description, advice: "")]
        } catch {
            return [Finding(name: "store", ok: false, detail: "cannot read \(store): \(error)", advice: "check the files' owner and mode")]
        }
    }

    /// The relay greets and answers NOOP, when `smtp_url` is set.
    private static func smtp(_ configuration: VigilConfiguration) -> Finding {
        guard let url = configuration.smtpURL else {
            return Finding(name: "smtp", ok: true, detail: "smtp_url is not set: email subscribers get no deliveries", advice: "")
        }
        let shown = redacted(url)
        switch SMTPSender(url: url, from: configuration.smtpFrom, timeoutMilliseconds: 10_000).probe() {
        case .success: return Finding(name: "smtp", ok: true, detail: "\(shown) greets and answers NOOP", advice: "")
        case .failure(let failure):
            return Finding(
                name: "smtp", ok: false, detail: "\(shown): \(failure.description)",
                advice: "check smtp_url's host and port, that the relay runs, and that this host may reach it")
        }
    }

    /// `url` without the password it may carry.
    private static func redacted(_ url: String) -> String {
        guard var parts = URLComponents(string: url), parts.password != nil else { return url }
        parts.password = "***"
        return parts.string ?? url
    }

    /// A broker answers and every topic of `KafkaTopics.all` exists with vigil.alerts' partition count.
    private static func kafka(_ configuration: VigilConfiguration, bootstrap: String, masterKey: MasterKey?) -> [Finding] {
        let counts: [String: Int]
        do {
            counts = try KafkaTopics.partitionCounts(bootstrapServers: bootstrap, security: try configuration.kafkaSecurity(), logger: Logger(label: "kafka", enabled: false))
        } catch {
            return [Finding(
                name: "kafka", ok: false, detail: "no broker of \(bootstrap) answered: \(error)",
                advice: "check log's addresses, the kafka_security_protocol settings and that the brokers run")]
        }
        var findings = [Finding(name: "kafka", ok: true, detail: "\(bootstrap) answers (\(counts.count) topics)", advice: "")]
        let expected = KafkaTopics.all(partitions: 1, replicationFactor: 1).map(\.name)
        let missing = expected.filter { counts[$0] == nil }
        let partitions = counts["vigil.alerts"] ?? 0
        let uneven = expected.filter { counts[$0].map { $0 != partitions } ?? false }
        if !missing.isEmpty {
            findings.append(Finding(
                name: "kafka topics", ok: false, detail: "missing: \(missing.joined(separator: ", "))",
                advice: "create them: vigil kafka init --bootstrap \(bootstrap) (it leaves existing topics alone)"))
        } else if !uneven.isEmpty {
            findings.append(Finding(
                name: "kafka topics", ok: false,
                detail: uneven.map { "\($0) has \(counts[$0] ?? 0) partitions" }.joined(separator: ", ") + ", vigil.alerts \(partitions)",
                advice: "give every Vigil topic vigil.alerts' partition count (kafka-topics.sh --alter --partitions \(partitions))"))
        } else {
            findings.append(Finding(name: "kafka topics", ok: true, detail: "all \(expected.count) exist with \(partitions) partitions each", advice: ""))
        }
        guard counts[KafkaAlertLog.keysTopic] != nil else { return findings }
        // Without a key (a key file vigil serve would create) any recorded key is a mismatch.
        let keyFileMissing = masterKey == nil && configuration.masterKey == nil
            && !FileManager.default.fileExists(atPath: configuration.effectiveMasterKeyFile)
        guard let key = masterKey ?? (keyFileMissing ? MasterKey.generate() : nil) else { return findings }
        do {
            switch try KafkaAlertLog.masterKeyMatches(
                key.identityCipher, signer: KafkaRecordSigner(masterKey: key), bootstrapServers: bootstrap, security: try configuration.kafkaSecurity(), logger: Logger(label: "kafka", enabled: false))
            {
            case true?:
                findings.append(Finding(name: "store", ok: true, detail: "the master key is the one \(KafkaAlertLog.keysTopic) records", advice: ""))
            case false?:
                findings.append(Finding(
                    name: "master key", ok: false,
                    detail: keyFileMissing
                        ? "master_key_file \(configuration.effectiveMasterKeyFile) is missing but \(KafkaAlertLog.keysTopic) records a key"
                        : "the master key is not the one \(KafkaAlertLog.keysTopic) was started with",
                    advice: "give every Vigil process of a deployment the same VIGIL_MASTER_KEY (or master_key_file)"))
            case nil:
                findings.append(Finding(
                    name: "store", ok: true, detail: "no process has recorded a master key in \(KafkaAlertLog.keysTopic) yet: the first vigil serve records this one",
                    advice: ""))
            }
        } catch {
            findings.append(Finding(name: "store", ok: false, detail: "cannot read \(KafkaAlertLog.keysTopic): \(error)", advice: "check that this host may read the topic"))
        }
        return findings
    }
}
