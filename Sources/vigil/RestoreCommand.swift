import Foundation
import VigilCore
import VigilCrypto
import VigilStore

/// `vigil restore --from DIR --data-dir NEW`: checks a backup against its manifest and puts
/// its files into a new data directory, optionally re-applying the erasures made since.
enum RestoreCommand: Command {
    static let path = ["restore"]
    static let summary = "check a backup and restore it into a new data directory"
    static let switches: Set<String> = ["json", "help"]
    static let help = """
        usage: vigil restore --from DIR --data-dir NEW [--erasures-from OLD_DATA_DIR] [--json]

        Checks DIR's manifest.json (format, version, the size and SHA-256 of every file) and
        refuses, changing nothing, when any of it does not match. Then copies vigil.sqlite and
        vigil.keys.sqlite into NEW (created, or an empty directory; mode 0700, files 0600) and
        signs everyone out of the console (sessions are not carried across a restore).
        Start vigil serve on NEW with the master key the store was sealed with (VIGIL_MASTER_KEY
        or master_key_file): it refuses any other key.
        An erasure made after the backup was taken is not in it. --erasures-from OLD_DATA_DIR, the
        data directory the backup was taken from, re-applies every such erasure: each alert whose
        data key is gone there loses it in NEW too. Without it, re-run those erasures (vigil erase)
        before anyone reads the restored alerts.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        let json = arguments.flag("json")
        guard let source = arguments.value("from"), !source.isEmpty else { throw UsageError("--from DIR is required: a directory vigil backup wrote") }
        guard let targetArgument = arguments.value("data-dir"), !targetArgument.isEmpty else {
            throw UsageError("--data-dir NEW is required: the new (or empty) data directory to restore into")
        }
        let older = arguments.value("erasures-from")
        try arguments.finish()
        let backup = URL(fileURLWithPath: source).standardizedFileURL.path
        let target = URL(fileURLWithPath: targetArgument).standardizedFileURL.path
        let manifest = try BackupManifest.read(from: backup)
        // Every checksum before anything is written: a damaged backup leaves the target untouched.
        try manifest.verify(directory: backup)
        let created = try prepare(target)
        let erased: [String]
        do {
            for file in manifest.files { try copy(file, from: backup, to: target) }
            let storePath = (target as NSString).appendingPathComponent(StoreBackup.storeFileName)
            let keysPath = (target as NSString).appendingPathComponent(StoreBackup.keysFileName)
            try StoreBackup.dropSessions(storePath: storePath)
            if let older {
                let old = URL(fileURLWithPath: older).standardizedFileURL.path
                erased = try ErasureCarryOver.apply(
                    from: (old as NSString).appendingPathComponent(StoreBackup.storeFileName),
                    newerKeys: (old as NSString).appendingPathComponent(StoreBackup.keysFileName), to: storePath, restoredKeys: keysPath)
            } else {
                erased = []
            }
            for name in BackupManifest.storeFiles {
                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: (target as NSString).appendingPathComponent(name))
            }
        } catch {
            // Nothing half-restored is left for a service to start on.
            if created {
                try? FileManager.default.removeItem(atPath: target)
            } else {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? [] {
                    try? FileManager.default.removeItem(atPath: (target as NSString).appendingPathComponent(name))
                }
            }
            throw error
        }
        if older == nil {
            FileHandle.standardError.write(Data((
                "erasures made after \(manifest.createdAt) are not in this backup: re-run them (vigil erase) before the restored alerts are read, "
                    + "or restore again with --erasures-from OLD_DATA_DIR\n").utf8))
        }
        let fingerprint = manifest.masterKeyCheckSHA256.map { " (master-key check \($0.prefix(16))…)" } ?? ""
        FileHandle.standardError.write(Data(
            "start vigil serve with data_dir \(target) and the master key this store was sealed with\(fingerprint); it refuses any other\n".utf8))
        if json {
            struct Restored: Encodable {
                let dataDir: String
                let manifest: BackupManifest
                let erasuresReapplied: [String]?
                enum CodingKeys: String, CodingKey {
                    case dataDir = "data_dir"
                    case manifest
                    case erasuresReapplied = "erasures_reapplied"
                }
            }
            try printJSON(Restored(dataDir: target, manifest: manifest, erasuresReapplied: older == nil ? nil : erased))
            return
        }
        print("restored \(manifest.counts.alerts) alerts (last offset \(manifest.lastOffset)) taken at \(manifest.createdAt) into \(target)")
        if older != nil {
            print("re-applied \(erased.count) erasure\(erased.count == 1 ? "" : "s") made after the backup")
            for id in erased { print("erased \(id)") }
        }
    }

    /// Makes `target` ready (mode 0700): creates it, or accepts an empty directory. Answers
    /// whether it was created.
    private static func prepare(_ target: String) throws(BackupError) -> Bool {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, let entries = try? FileManager.default.contentsOfDirectory(atPath: target), entries.isEmpty else {
                throw .targetNotEmpty(target)
            }
            do {
                try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: target)
            } catch {
                throw .unwritable(target)
            }
            return false
        }
        do {
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .uncreatable(target)
        }
        return true
    }

    /// Copies `file` from the backup into `target` (mode 0600), checking the bytes written
    /// against the manifest again (the backup may change between the check and the copy),
    /// flushing them to the disk, and only then giving the file its name.
    private static func copy(_ file: BackupManifest.File, from backup: String, to target: String) throws(BackupError) {
        // The name is one of `BackupManifest.storeFiles`, checked when the manifest was read.
        let source = (backup as NSString).appendingPathComponent(file.name)
        let destination = (target as NSString).appendingPathComponent(file.name)
        let partial = destination + ".partial"
        guard let input = FileHandle(forReadingAtPath: source) else { throw .unreadable(source) }
        defer { try? input.close() }
        guard FileManager.default.createFile(atPath: partial, contents: nil, attributes: [.posixPermissions: 0o600]),
            let output = FileHandle(forWritingAtPath: partial)
        else { throw .unwritable(partial) }
        let hasher = SHA256.Hasher()
        var bytes: Int64 = 0
        do {
            defer { try? output.close() }
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(Array(chunk))
                bytes += Int64(chunk.count)
                try output.write(contentsOf: chunk)
            }
            try output.synchronize()
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw .unwritable(partial)
        }
        guard bytes == file.bytes, Hex.encode(hasher.finalize()) == file.sha256 else {
            try? FileManager.default.removeItem(atPath: partial)
            throw .checksumMismatch(file.name)
        }
        do {
            try FileManager.default.moveItem(atPath: partial, toPath: destination)
        } catch {
            throw .unwritable(destination)
        }
    }
}
