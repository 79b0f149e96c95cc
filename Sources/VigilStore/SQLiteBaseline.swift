import Dispatch

/// What SQLite alone does for a durable append, for benchmarks to compare against: one
/// alert-sized row per transaction, WAL, `synchronous=FULL`, one connection, no Vigil code.
public enum SQLiteBaseline {
    /// Appends rows of `rowBytes` bytes one commit at a time for `seconds`; returns how many.
    public static func appendOneByOne(path: String, seconds: Double, rowBytes: Int = 700) throws -> Int {
        let connection = try SQLiteConnection(path: path)
        defer { connection.close() }
        try connection.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE IF NOT EXISTS baseline (n INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL)")
        let row = [UInt8](repeating: 0x61, count: rowBytes)
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        var count = 0
        while DispatchTime.now().uptimeNanoseconds < deadline {
            try connection.run("INSERT INTO baseline(body) VALUES (?)", [.blob(row)])  // autocommit: one fsync each
            count += 1
        }
        return count
    }
}
