/// A failure reported by SQLite, with the statement or step it came from.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// SQLite's primary result code (`SQLITE_FULL` is 13, `SQLITE_READONLY` is 8, …).
    public let code: Int32
    /// SQLite's own message.
    public let message: String
    /// What Vigil was doing.
    public let context: String

    /// `true` when the disk is full or the file cannot be written: the store is intact but
    /// cannot accept writes until an operator frees space or fixes permissions.
    public var isStorageUnavailable: Bool {
        [13, 8, 10, 14].contains(code & 0xFF)  // FULL, READONLY, IOERR, CANTOPEN
    }

    public var description: String { "\(context): \(message) (SQLite code \(code))" }
}
