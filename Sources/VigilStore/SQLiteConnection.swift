import CSQLite

/// A value bound to or read from a SQLite statement.
enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// One row of a result, by column index.
struct SQLiteRow: Sendable {
    let values: [SQLiteValue]

    func int(_ i: Int) -> Int64? { if case .integer(let v) = values[i] { v } else { nil } }
    func text(_ i: Int) -> String? {
        switch values[i] {
        case .text(let v): v
        case .blob(let v): String(decoding: v, as: UTF8.self)
        default: nil
        }
    }
    func blob(_ i: Int) -> [UInt8]? {
        switch values[i] {
        case .blob(let v): v
        case .text(let v): Array(v.utf8)
        default: nil
        }
    }
}

/// One SQLite connection with a cache of prepared statements. Not thread-safe: `Database`
/// confines each connection to one queue or lock. All of the C API is used here and only here.
final class SQLiteConnection {
    /// The C handle, read by `SQLiteBackup` (the other half of this wrapper) and nothing else.
    private(set) var handle: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    let path: String

    init(path: String, readOnly: Bool = false) throws(SQLiteError) {
        self.path = path
        let flags = (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_NOMUTEX
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw SQLiteError(code: rc, message: message, context: "opening \(path)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 5000)
    }

    deinit { close() }

    func close() {
        for statement in statements.values { sqlite3_finalize(statement) }
        statements.removeAll()
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    /// Attaches the key file at `path` as schema `keys`, in WAL mode with `synchronous=FULL`
    /// and `secure_delete`, so a deleted key is overwritten in the file.
    func attachKeys(_ path: String) throws(SQLiteError) {
        try run("ATTACH DATABASE ? AS keys", [.text(path)])
        try execute("PRAGMA keys.journal_mode=WAL; PRAGMA keys.synchronous=FULL; PRAGMA keys.secure_delete=ON;")
    }

    /// Runs one or more statements that take no parameters (pragmas, DDL, BEGIN/COMMIT).
    func execute(_ sql: String) throws(SQLiteError) {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? errorMessage
            sqlite3_free(error)
            throw SQLiteError(code: rc, message: message, context: sql.prefix(80).description)
        }
    }

    /// Runs a statement with `parameters`; returns the number of rows it changed.
    @discardableResult
    func run(_ sql: String, _ parameters: [SQLiteValue] = []) throws(SQLiteError) -> Int {
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement) }
        try bind(parameters, to: statement, sql: sql)
        let rc = sqlite3_step(statement)
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else { throw failure(rc, sql) }
        return Int(sqlite3_changes(handle))
    }

    /// Runs a query and returns every row.
    func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws(SQLiteError) -> [SQLiteRow] {
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement) }
        try bind(parameters, to: statement, sql: sql)
        var rows: [SQLiteRow] = []
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw failure(rc, sql) }
            let count = sqlite3_column_count(statement)
            var values: [SQLiteValue] = []
            values.reserveCapacity(Int(count))
            for i in 0..<count {
                switch sqlite3_column_type(statement, i) {
                case SQLITE_INTEGER: values.append(.integer(sqlite3_column_int64(statement, i)))
                case SQLITE_FLOAT: values.append(.real(sqlite3_column_double(statement, i)))
                case SQLITE_TEXT: values.append(.text(String(cString: sqlite3_column_text(statement, i))))
                case SQLITE_BLOB:
                    let length = Int(sqlite3_column_bytes(statement, i))
                    if length > 0, let base = sqlite3_column_blob(statement, i) {
                        values.append(.blob(Array(UnsafeRawBufferPointer(start: base, count: length))))
                    } else {
                        values.append(.blob([]))
                    }
                default: values.append(.null)
                }
            }
            rows.append(SQLiteRow(values: values))
        }
        return rows
    }

    /// The rowid of the last inserted row.
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    private var errorMessage: String { handle.map { String(cString: sqlite3_errmsg($0)) } ?? "connection closed" }

    private func failure(_ rc: Int32, _ sql: String) -> SQLiteError {
        SQLiteError(code: rc, message: errorMessage, context: String(sql.prefix(80)))
    }

    private func prepared(_ sql: String) throws(SQLiteError) -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw failure(rc, sql) }
        statements[sql] = statement
        return statement
    }

    private func bind(_ parameters: [SQLiteValue], to statement: OpaquePointer, sql: String) throws(SQLiteError) {
        sqlite3_clear_bindings(statement)
        for (offset, value) in parameters.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(statement, index)
            case .integer(let v): rc = sqlite3_bind_int64(statement, index, v)
            case .real(let v): rc = sqlite3_bind_double(statement, index, v)
            case .text(let v): rc = sqlite3_bind_text(statement, index, v, -1, vigil_sqlite_transient())
            case .blob(let v):
                rc = v.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), vigil_sqlite_transient()) }
            }
            guard rc == SQLITE_OK else { throw failure(rc, sql) }
        }
    }
}
