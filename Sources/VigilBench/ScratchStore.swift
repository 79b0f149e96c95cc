import Foundation
import VigilStore

/// A throw-away embedded store in a fresh temporary directory, for the benchmarks: the
/// database, a log sealed under a random master key, the delivery queue and subscribers.
final class ScratchStore {
    /// A fresh directory under the system's temporary directory.
    static func directory() -> String {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("vigil-bench-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    let path: String
    let database: Database
    let log: EmbeddedAlertLog
    let queue: EmbeddedDeliveryQueue
    let subscribers: SubscriberRegistry

    init() throws {
        path = Self.directory()
        database = try Database(path: path + "/vigil.sqlite")
        let masterKey = MasterKey.generate()
        log = try EmbeddedAlertLog(database: database, masterKey: masterKey)
        queue = EmbeddedDeliveryQueue(database: database)
        subscribers = SubscriberRegistry(database: database, seal: SecretSeal(masterKey: masterKey))
    }

    /// Closes the database and deletes the directory.
    func remove() {
        database.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}
