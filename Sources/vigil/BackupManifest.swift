import Foundation
import VigilCore
import VigilCrypto
import VigilStore

/// `manifest.json` of a backup directory: what `vigil backup` copied and what `vigil restore`
/// checks before it copies anything back — the format, when the copy was taken, the newest
/// alert's offset, counts, the size and SHA-256 of each file, and a fingerprint of the master
/// key (the SHA-256 of the store's master-key check value, which reveals nothing of the key).
struct BackupManifest: Codable, Equatable {
    /// The manifest's name in a backup directory.
    static let fileName = "manifest.json"
    /// What `format` says in every Vigil backup.
    static let formatName = "vigil-backup"
    /// The layout this build writes and reads.
    static let currentVersion = 1
    /// The files a backup holds, in the order they are copied (the alert store first).
    static let storeFiles = [StoreBackup.storeFileName, StoreBackup.keysFileName]
    /// The largest manifest read: a real one is well under a kilobyte.
    static let maxBytes = 64 * 1024

    /// One copied file.
    struct File: Codable, Equatable {
        /// Its name in the backup directory (and in a data directory).
        var name: String
        /// Its size in bytes.
        var bytes: Int64
        /// Its SHA-256, lower-case hex.
        var sha256: String
    }

    var format: String
    var formatVersion: Int
    /// When the copy was taken: just before the alert store's snapshot was opened, so every
    /// erasure made after it may be missing from the copy and none made before it is.
    var createdAt: Timestamp
    /// The store's schema version (its last migration).
    var schemaVersion: Int
    /// The offset of the newest alert in the copy.
    var lastOffset: Int64
    var counts: StoreBackup.Counts
    /// SHA-256 of the store's master-key check value; `nil` for a store never opened with a key.
    var masterKeyCheckSHA256: String?
    var files: [File]

    enum CodingKeys: String, CodingKey {
        case format
        case formatVersion = "format_version"
        case createdAt = "created_at"
        case schemaVersion = "schema_version"
        case lastOffset = "last_offset"
        case counts
        case masterKeyCheckSHA256 = "master_key_check_sha256"
        case files
    }

    /// The size and SHA-256 of the file at `path`, read 1 MiB at a time.
    static func digest(ofFile path: String) throws(BackupError) -> File {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .unreadable(path) }
        defer { try? handle.close() }
        let hasher = SHA256.Hasher()
        var bytes: Int64 = 0
        while true {
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            } catch {
                throw .unreadable(path)
            }
            if chunk.isEmpty { break }
            bytes += Int64(chunk.count)
            hasher.update(Array(chunk))
        }
        return File(name: (path as NSString).lastPathComponent, bytes: bytes, sha256: Hex.encode(hasher.finalize()))
    }

    /// The manifest in `directory`, checked for what this build can restore: the format and
    /// its version, exactly the two store files by name, well-formed sizes and checksums, and
    /// a schema this build knows.
    static func read(from directory: String) throws(BackupError) -> BackupManifest {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), let size = attributes[.size] as? Int else {
            throw .noManifest(directory)
        }
        guard size <= maxBytes, let data = FileManager.default.contents(atPath: path) else { throw .badManifest("it is larger than \(maxBytes) bytes") }
        let manifest: BackupManifest
        do {
            manifest = try JSONDecoder().decode(BackupManifest.self, from: data)
        } catch {
            throw .badManifest("it is not a manifest this version reads (\(error))")
        }
        guard manifest.format == formatName else { throw .badManifest("format is not \(formatName)") }
        guard manifest.formatVersion == currentVersion else {
            throw .badManifest("format_version \(manifest.formatVersion) is not \(currentVersion); restore it with the Vigil version that took it")
        }
        guard manifest.files.map(\.name) == storeFiles else { throw .badManifest("files must be exactly \(storeFiles.joined(separator: " and "))") }
        for file in manifest.files {
            guard file.bytes > 0, isSHA256(file.sha256) else {
                throw .badManifest("the entry for \(file.name) has no valid size and SHA-256")
            }
        }
        if let check = manifest.masterKeyCheckSHA256, !isSHA256(check) { throw .badManifest("master_key_check_sha256 is not a SHA-256 in hex") }
        guard manifest.schemaVersion > 0, manifest.schemaVersion <= StoreBackup.schemaVersion else {
            throw .badManifest(
                "schema_version \(manifest.schemaVersion) is not one this build knows (1…\(StoreBackup.schemaVersion)); restore it with the Vigil version that took it or a newer one")
        }
        return manifest
    }

    /// Whether `text` is 64 lower-case hex digits.
    private static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// Checks every file of `directory` against its size and checksum; throws naming the
    /// first that differs.
    func verify(directory: String) throws(BackupError) {
        for expected in files {
            let path = (directory as NSString).appendingPathComponent(expected.name)
            guard FileManager.default.fileExists(atPath: path) else { throw .missingFile(expected.name) }
            let found = try Self.digest(ofFile: path)
            guard found.bytes == expected.bytes, found.sha256 == expected.sha256 else { throw .checksumMismatch(expected.name) }
        }
    }

    /// Writes the manifest into `directory` (mode 0600) and flushes it to the disk.
    func write(to directory: String) throws(BackupError) {
        let path = (directory as NSString).appendingPathComponent(Self.fileName)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self),
            FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw .unwritable(path) }
        defer { try? handle.close() }
        do {
            try handle.write(contentsOf: data + Data("\n".utf8))
            try handle.synchronize()
        } catch {
            throw .unwritable(path)
        }
    }
}

/// Why `vigil backup` or `vigil restore` refused or failed, said so an operator can act.
enum BackupError: Error, CustomStringConvertible {
    /// `log` names Kafka: the store is the cluster's topics.
    case kafka(String)
    /// The backup directory exists already.
    case targetExists(String)
    /// The restore target exists and is not an empty directory.
    case targetNotEmpty(String)
    /// A directory could not be made.
    case uncreatable(String)
    /// A file could not be read.
    case unreadable(String)
    /// A file could not be written.
    case unwritable(String)
    /// The backup directory has no manifest.
    case noManifest(String)
    /// The manifest is not one this build restores.
    case badManifest(String)
    /// A file the manifest lists is missing.
    case missingFile(String)
    /// A file's size or checksum differs from the manifest.
    case checksumMismatch(String)

    var description: String {
        switch self {
        case .kafka(let log):
            "log is \(log): the alerts, keys, deliveries, subscribers, tokens and accounts live in the Kafka topics (vigil.alerts, vigil.keys, vigil.subscribers, vigil.tokens, vigil.accounts, vigil.acks, vigil.audit, vigil.replays, vigil.deliveries.*), so back those up with Kafka's own tools (MirrorMaker 2 to a standby cluster, or your platform's topic snapshots); the local vigil-kafka-cache.sqlite is rebuilt from them and needs no backup"
        case .targetExists(let path): "\(path) exists already; name a new directory: vigil backup creates it (mode 0700) and never writes into an existing one"
        case .targetNotEmpty(let path): "\(path) is not an empty directory; restore into a new or empty directory and point data_dir at it"
        case .uncreatable(let path): "\(path) cannot be created; check its parent's owner, mode and free space"
        case .unreadable(let path): "\(path) cannot be read; check its owner and mode"
        case .unwritable(let path): "\(path) cannot be written; check the directory's owner, mode and free space"
        case .noManifest(let directory): "\(directory) has no \(BackupManifest.fileName): name a directory vigil backup wrote"
        case .badManifest(let why): "\(BackupManifest.fileName) refused: \(why)"
        case .missingFile(let name): "\(name) is missing from the backup; the backup is incomplete, use another one"
        case .checksumMismatch(let name):
            "\(name) does not match its size and SHA-256 in \(BackupManifest.fileName): the file changed since the backup was taken; nothing was restored, use another copy of the backup"
        }
    }
}
