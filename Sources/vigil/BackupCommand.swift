import Foundation
import VigilCore
import VigilServer
import VigilStore

/// `vigil backup --to DIR`: a consistent copy of the embedded store (alert store and key store)
/// taken while `vigil serve` runs, with a manifest; never the master key.
enum BackupCommand: Command {
    static let path = ["backup"]
    static let summary = "copy the embedded store into a new directory while the service runs"
    static let switches: Set<String> = ["json", "help"]
    static let help = """
        usage: vigil backup --to DIR [--data-dir DIR] [--config FILE] [--json]

        Copies the embedded store in data_dir into DIR, a directory it creates (mode 0700), with
        SQLite's online backup API: vigil serve (another process) keeps filing and sending while it
        copies. DIR gets vigil.sqlite (alerts, deliveries, subscribers, tokens, accounts, acks, audit
        trail, replays, idempotency keys), vigil.keys.sqlite (the wrapped data keys), both mode 0600,
        and manifest.json: format, created_at, the last alert offset, counts, the size and SHA-256 of
        each file, and the SHA-256 of the store's master-key check value (it identifies the key and
        reveals nothing of it). The alert store is copied first, the key store after, so every
        alert in the copy has its data key (unless it was erased while the copy ran).
        The master key is never copied: keep it apart from the backups. DIR must not exist.
        On Kafka (log kafka://…) it refuses: back up the topics with Kafka's own tools.
        Restore with vigil restore --from DIR --data-dir NEW.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        let json = arguments.flag("json")
        guard let target = arguments.value("to"), !target.isEmpty else { throw UsageError("--to DIR is required: a new directory for the copy") }
        let configuration = try loadConfiguration(
            &arguments, environment: environment,
            flagsOf: VigilConfiguration.settings.filter { $0.keyPath == \VigilConfiguration.dataDir || $0.keyPath == \VigilConfiguration.log })
        try arguments.finish()
        if case .kafka = configuration.log { throw BackupError.kafka(configuration.log.description) }
        let directory = URL(fileURLWithPath: target).standardizedFileURL.path
        guard !FileManager.default.fileExists(atPath: directory) else { throw BackupError.targetExists(directory) }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw BackupError.uncreatable(directory)
        }
        let started = Date()
        let createdAt = Timestamp.now()
        let manifest: BackupManifest
        do {
            let summary = try StoreBackup.copy(
                storePath: (configuration.dataDir as NSString).appendingPathComponent(StoreBackup.storeFileName),
                keysPath: (configuration.dataDir as NSString).appendingPathComponent(StoreBackup.keysFileName), into: directory)
            let files = try BackupManifest.storeFiles.map { name throws(BackupError) in
                try BackupManifest.digest(ofFile: (directory as NSString).appendingPathComponent(name))
            }
            manifest = BackupManifest(
                format: BackupManifest.formatName, formatVersion: BackupManifest.currentVersion, createdAt: createdAt,
                schemaVersion: summary.schemaVersion, lastOffset: summary.lastOffset, counts: summary.counts,
                masterKeyCheckSHA256: summary.masterKeyCheck, files: files)
            try manifest.write(to: directory)
        } catch {
            // A partial copy is no backup: nothing is left that could be mistaken for one.
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        if json {
            try printJSON(manifest)
            return
        }
        let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
        let bytes = manifest.files.map(\.bytes).reduce(0, +)
        print(
            "backed up \(manifest.counts.alerts) alerts (last offset \(manifest.lastOffset)), \(manifest.counts.dataKeys) data keys, "
                + "\(manifest.counts.deliveries) deliveries, \(manifest.counts.subscribers) subscribers into \(directory) "
                + "(\(bytes) bytes in \(seconds) s)")
        FileHandle.standardError.write(Data(
            "the master key is not in the backup: keep it apart, and keep key-store backups only as long as an erasure may take to reach everywhere\n".utf8))
    }
}
