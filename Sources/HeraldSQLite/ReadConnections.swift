import Foundation
import GRDBSQLite
import Synchronization

/// Read-only connections to the store's file, used through SQLite's C API: every read of
/// ``SQLiteEventStore`` goes through one, on the caller's thread. (Writes, and the schema,
/// stay with GRDB's writer.)
///
/// A read through GRDB's `DatabasePool` costs about 30 µs on the machines we measure on,
/// around 5 µs of SQLite's own work (both timed side by side in one process); an order
/// reads about ten times. Statements are prepared once per connection and kept.
///
/// A connection is used by one caller at a time: ``read(_:)`` takes an idle one (or opens
/// one) and puts it back afterwards.
final class ReadConnections: Sendable {
    /// How many idle connections are kept open; more are opened while more readers run at once.
    static let maximumIdle = 8

    private let path: String
    private let busyTimeout: Duration
    private let memoryMap: Int
    private let idle = Mutex<[ReadConnection]>([])

    init(path: String, busyTimeout: Duration, memoryMap: Int) {
        self.path = path
        self.busyTimeout = busyTimeout
        self.memoryMap = memoryMap
    }

    /// Runs `body` with a connection of its own.
    func read<T>(_ body: (ReadConnection) throws -> T) throws -> T {
        let connection = try idle.withLock { $0.popLast() } ?? ReadConnection(path: path, busyTimeout: busyTimeout, memoryMap: memoryMap)
        defer { idle.withLock { if $0.count < Self.maximumIdle { $0.append(connection) } } }
        return try body(connection)
    }
}

/// One read-only SQLite connection and its prepared statements. Not for concurrent use:
/// ``ReadConnections`` hands it to one caller at a time. A closure given a ``ReadRow`` only
/// reads its columns: it must not run another query on the connection (the statement being
/// stepped may be the one it would reuse).
final class ReadConnection: @unchecked Sendable {
    /// Statements kept prepared per connection; past that, the one used least recently is
    /// finalized to make room. SQL built for one call (see ``rows(_:_:keep:_:)``) is never kept.
    static let maximumStatements = 64

    private let handle: OpaquePointer
    private var statements: [StatementKey: (statement: OpaquePointer, lastUse: UInt64)] = [:]
    private var uses: UInt64 = 0

    init(path: String, busyTimeout: Duration, memoryMap: Int) throws {
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil)
        guard code == SQLITE_OK, let handle else {
            let error = SQLiteReadError(code: code, message: handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory", sql: nil)
            sqlite3_close_v2(handle)
            throw error
        }
        let milliseconds = busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000
        sqlite3_busy_timeout(handle, Int32(clamping: milliseconds))
        self.handle = handle
        if memoryMap > 0 { try execute("PRAGMA mmap_size = \(memoryMap)") }
    }

    deinit {
        for kept in statements.values { sqlite3_finalize(kept.statement) }
        sqlite3_close_v2(handle)
    }

    /// Runs `body` in one read transaction: its queries all see the same snapshot.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }

    /// Every row of `sql` with `arguments` bound, each made by `make`. `keep: false` for SQL
    /// that is built for one call and will rarely be seen again.
    func rows<T>(_ sql: String, _ arguments: [any SQLiteArgument] = [], keep: Bool = true, _ make: (ReadRow) throws -> T) throws -> [T] {
        var result: [T] = []
        try step(sql, arguments, keep: keep) { row in
            result.append(try make(row))
            return true
        }
        return result
    }

    /// The first row of `sql` made by `make`, or `nil` when there is none.
    func row<T>(_ sql: String, _ arguments: [any SQLiteArgument] = [], _ make: (ReadRow) throws -> T) throws -> T? {
        var result: T?
        try step(sql, arguments) { row in
            result = try make(row)
            return false
        }
        return result
    }

    /// The first column of the first row, `nil` when there is no row or it is NULL.
    func value<T: SQLiteColumn>(_ sql: String, _ arguments: [any SQLiteArgument] = []) throws -> T? {
        try row(sql, arguments) { row -> T? in try row[0] } ?? nil
    }

    private func execute(_ sql: String) throws {
        try step(sql, []) { _ in false }
    }

    /// Steps through the rows of `sql` while `visit` returns `true`.
    private func step(_ sql: String, _ arguments: [any SQLiteArgument], keep: Bool = true, _ visit: (ReadRow) throws -> Bool) throws {
        let (statement, kept) = try prepared(sql, keep: keep)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
            if !kept { sqlite3_finalize(statement) }
        }
        for (index, argument) in arguments.enumerated() {
            let code = argument.bind(to: statement, at: Int32(index + 1))
            guard code == SQLITE_OK else { throw error(code, sql) }
        }
        while true {
            let code = sqlite3_step(statement)
            switch code {
            case SQLITE_ROW:
                guard try visit(ReadRow(statement: statement)) else { return }
            case SQLITE_DONE:
                return
            default:
                throw error(code, sql)
            }
        }
    }

    /// The statement for `sql`, and whether it is kept (else the caller finalizes it).
    private func prepared(_ sql: String, keep: Bool) throws -> (statement: OpaquePointer, kept: Bool) {
        uses += 1
        let key = StatementKey(sql: sql)
        if let index = statements.index(forKey: key) {
            statements.values[index].lastUse = uses
            return (statements.values[index].statement, true)
        }
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(handle, sql, -1, keep ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0, &statement, nil)
        guard code == SQLITE_OK, let statement else { throw error(code, sql) }
        guard keep else { return (statement, false) }
        // No statement of this connection is being stepped now (one query at a time), so
        // the evicted one can go.
        if statements.count >= Self.maximumStatements, let oldest = statements.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            sqlite3_finalize(oldest.value.statement)
            statements[oldest.key] = nil
        }
        statements[key] = (statement, uses)
        return (statement, true)
    }

    private func error(_ code: Int32, _ sql: String) -> SQLiteReadError {
        SQLiteReadError(code: code, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }
}

/// A statement cache's key: the SQL text, hashed by its length and last 64 bytes only.
///
/// Reads look up their statement about 150 times per order placed in Mall, and looking
/// it up twice by the whole text (the events' column list alone is 200 bytes) cost 4.4% of
/// the server's instructions (callgrind, `Benchmarks/instructions.sh`); one lookup by this
/// key, 1.7%. Texts of one length that end alike only share a bucket: equality still
/// compares them whole.
struct StatementKey: Hashable {
    let sql: String

    func hash(into hasher: inout Hasher) {
        var text = sql
        text.withUTF8 { bytes in
            hasher.combine(bytes.count)
            hasher.combine(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes.suffix(64))))
        }
    }

    static func == (lhs: StatementKey, rhs: StatementKey) -> Bool { lhs.sql == rhs.sql }
}

/// A failed read: SQLite's result code and message, and the statement.
public struct SQLiteReadError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String
    public var sql: String?

    public var description: String {
        "SQLite error \(code): \(message)" + (sql.map { " (\($0))" } ?? "")
    }
}

/// The current row of a statement being stepped; valid only inside the closure given it.
struct ReadRow {
    fileprivate let statement: OpaquePointer

    subscript<T: SQLiteColumn>(_ column: Int32) -> T {
        get throws { try T.read(statement, column) }
    }
}

/// A value a read binds to a `?` parameter.
protocol SQLiteArgument {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32
}

/// A value read from a column. The store's columns have the types its schema gives them;
/// a value that cannot be one (a damaged file, a row written by hand) throws
/// ``SQLiteReadError`` rather than trapping.
protocol SQLiteColumn {
    static func read(_ statement: OpaquePointer, _ column: Int32) throws -> Self
}

/// SQLite copies bound text and blobs (`SQLITE_TRANSIENT`).
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

extension Int64: SQLiteArgument, SQLiteColumn {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 { sqlite3_bind_int64(statement, index, self) }
    static func read(_ statement: OpaquePointer, _ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }
}

extension Int: SQLiteArgument, SQLiteColumn {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 { sqlite3_bind_int64(statement, index, Int64(self)) }
    static func read(_ statement: OpaquePointer, _ column: Int32) -> Int { Int(sqlite3_column_int64(statement, column)) }
}

extension Bool: SQLiteColumn {
    static func read(_ statement: OpaquePointer, _ column: Int32) -> Bool { sqlite3_column_int64(statement, column) != 0 }
}

extension String: SQLiteArgument, SQLiteColumn {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 { sqlite3_bind_text(statement, index, self, -1, transient) }

    static func read(_ statement: OpaquePointer, _ column: Int32) -> String {
        guard let text = sqlite3_column_text(statement, column) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(statement, column))), as: UTF8.self)
    }
}

extension Data: SQLiteColumn {
    static func read(_ statement: OpaquePointer, _ column: Int32) -> Data {
        guard let bytes = sqlite3_column_blob(statement, column) else { return Data() }
        return Data(bytes: bytes, count: Int(sqlite3_column_bytes(statement, column)))
    }
}

/// UUIDs are stored as their 16 bytes (as GRDB writes them).
extension UUID: SQLiteArgument, SQLiteColumn {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 {
        withUnsafeBytes(of: uuid) { sqlite3_bind_blob(statement, index, $0.baseAddress, 16, transient) }
    }

    static func read(_ statement: OpaquePointer, _ column: Int32) throws -> UUID {
        if sqlite3_column_type(statement, column) == SQLITE_TEXT, let parsed = UUID(uuidString: String.read(statement, column)) {
            return parsed
        }
        guard sqlite3_column_bytes(statement, column) == 16, let bytes = sqlite3_column_blob(statement, column) else {
            let sql = sqlite3_sql(statement).map { String(cString: $0) }
            throw SQLiteReadError(code: SQLITE_MISMATCH, message: "column \(column) holds no UUID", sql: sql)
        }
        return UUID(uuid: bytes.loadUnaligned(as: uuid_t.self))
    }
}

extension Optional: SQLiteColumn where Wrapped: SQLiteColumn {
    static func read(_ statement: OpaquePointer, _ column: Int32) throws -> Wrapped? {
        sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : try Wrapped.read(statement, column)
    }
}
