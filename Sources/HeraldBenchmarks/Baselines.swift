import Foundation
import GRDBSQLite
import Herald
import HeraldSQLite

/// The limits Herald's SQLite store is measured against, in the same run: what SQLite's
/// C API does on one thread, and what the disk's fsync does.
enum Baselines {
    struct SQLiteFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// One-row INSERT transactions through SQLite's C API on the calling thread, the
    /// statement prepared once and reused: WAL mode, `synchronous` as given.
    static func rawCCommitsPerSecond(path: String, count: Int, synchronous: SQLiteEventStore.Options.Synchronous) throws -> Double {
        let db = try CConnection(path: path, synchronous: synchronous)
        try db.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        let insert = try db.prepare("INSERT INTO raw (payload) VALUES (?)")
        let payload = [UInt8](repeating: 7, count: 64)
        let start = ContinuousClock.now
        for _ in 0..<count {
            // An autocommit INSERT: one statement, one transaction.
            try insert.run(.blob(payload))
        }
        return Double(count) / (ContinuousClock.now - start).timeInterval
    }

    /// What ``HeraldBench/openAccount(_:_:)`` asks of SQLite, done by SQLite alone: on a file
    /// Herald's own migration laid out, one transaction per new aggregate and its event,
    /// with the statements Herald's store runs for it (a savepoint, the document's insert
    /// and its check, the stream's last version, the event's insert), prepared once, on the
    /// calling thread. The most a unit of work of this shape can do on this disk: it writes
    /// four B-trees (the document, the event and the event's two unique indexes), where
    /// ``rawCCommitsPerSecond(path:count:synchronous:)`` writes one.
    ///
    /// With `group` above 1, that many units share each transaction, a savepoint each, as
    /// the store's writer groups commits that queued together: the most group commit can
    /// do with groups of that size.
    static func unitOfWorkCCommitsPerSecond(
        path: String, count: Int, synchronous: SQLiteEventStore.Options.Synchronous, group: Int = 1
    ) throws -> Double {
        _ = try SQLiteEventStore(path: path, options: .init(synchronous: synchronous))  // the schema; closed again
        let db = try CConnection(path: path, synchronous: synchronous)
        let begin = try db.prepare("BEGIN IMMEDIATE"), savepoint = try db.prepare("SAVEPOINT herald_write")
        let release = try db.prepare("RELEASE herald_write"), commit = try db.prepare("COMMIT")
        let insertDocument = try db.prepare("""
            INSERT INTO herald_aggregates (stream_type, stream_id, version, state, updated_at) VALUES (?, ?, 1, ?, ?)
            ON CONFLICT (stream_type, stream_id) DO NOTHING
            """)
        let lastVersion = try db.prepare("SELECT MAX(stream_version) FROM herald_events WHERE stream_type = ? AND stream_id = ?")
        let insertEvent = try db.prepare("""
            INSERT INTO herald_events (event_id, stream_type, stream_id, stream_version, event_type, schema_version,
                payload, occurred_at, recorded_at, causation_id, correlation_id, traceparent, metadata)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let payload = Array(#"{"amount":100}"#.utf8)
        let start = ContinuousClock.now
        for index in 0..<count {
            let stream = "a\(index)", now = Int64(Date().timeIntervalSince1970 * 1_000_000)
            let eventID = withUnsafeBytes(of: UUID.timeOrdered(at: Date()).uuid) { Array($0) }  // as Herald makes them
            if index % group == 0 { try begin.run() }
            try savepoint.run()
            try insertDocument.run(.text("Account"), .text(stream), .blob(Array(#"{"id":"\#(stream)","balance":100}"#.utf8)), .integer(now))
            guard db.changes == 1 else { throw SQLiteFailure(description: "the document \(stream) exists") }
            let version = try lastVersion.integer(.text("Account"), .text(stream)) ?? 0
            try insertEvent.run(
                .blob(eventID), .text("Account"), .text(stream), .integer(version + 1), .text("bench.Deposited"), .integer(1),
                .blob(payload), .integer(now), .integer(now), .null, .null, .null, .null)
            try release.run()
            if index % group == group - 1 || index == count - 1 { try commit.run() }
        }
        return Double(count) / (ContinuousClock.now - start).timeInterval
    }

    /// 4 KiB written and `fdatasync`ed, `count` times, into a file allocated up front (so no
    /// size change adds a metadata write): the most durable commits the disk can take one
    /// after another.
    static func fsyncsPerSecond(path: String, count: Int) throws -> Double {
        let descriptor = open(path, O_CREAT | O_RDWR, 0o644)
        guard descriptor >= 0 else { throw SQLiteFailure(description: "cannot open \(path): errno \(errno)") }
        defer { close(descriptor) }
        let block = [UInt8](repeating: 7, count: 4096)
        let blocks = 256
        for index in 0..<blocks { _ = pwrite(descriptor, block, block.count, off_t(index * block.count)) }
        guard fsync(descriptor) == 0 else { throw SQLiteFailure(description: "fsync failed: errno \(errno)") }
        let start = ContinuousClock.now
        for index in 0..<count {
            guard pwrite(descriptor, block, block.count, off_t((index % blocks) * block.count)) == block.count,
                  fdatasync(descriptor) == 0 else { throw SQLiteFailure(description: "write or fdatasync failed: errno \(errno)") }
        }
        return Double(count) / (ContinuousClock.now - start).timeInterval
    }
}

/// A connection through SQLite's C API, for the baselines: WAL mode, one thread. Closed once
/// it and every statement prepared on it are gone (each statement keeps it open).
final class CConnection {
    let handle: OpaquePointer

    init(path: String, synchronous: SQLiteEventStore.Options.Synchronous) throws {
        var connection: OpaquePointer?
        guard sqlite3_open_v2(path, &connection, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
              let connection else { throw Baselines.SQLiteFailure(description: "cannot open \(path)") }
        handle = connection
        sqlite3_busy_timeout(connection, 10_000)  // a store just closed on the file may still be checkpointing it
        try execute("PRAGMA journal_mode = WAL")
        try execute("PRAGMA synchronous = \(synchronous.rawValue)")
    }

    deinit { sqlite3_close_v2(handle) }

    var changes: Int32 { sqlite3_changes(handle) }

    func execute(_ sql: String) throws {
        guard sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK else { throw failure() }
    }

    /// A statement prepared once, finalized when it is gone.
    func prepare(_ sql: String) throws -> Statement {
        var prepared: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &prepared, nil) == SQLITE_OK, let prepared else { throw failure() }
        return Statement(handle: prepared, connection: self)
    }

    func failure() -> Baselines.SQLiteFailure { Baselines.SQLiteFailure(description: String(cString: sqlite3_errmsg(handle))) }

    enum Value {
        case integer(Int64), text(String), blob([UInt8]), null
    }

    final class Statement {
        let handle: OpaquePointer
        let connection: CConnection

        init(handle: OpaquePointer, connection: CConnection) {
            self.handle = handle
            self.connection = connection
        }

        deinit { sqlite3_finalize(handle) }

        /// Binds `values`, steps to the end, resets.
        func run(_ values: Value...) throws {
            try bind(values)
            defer { sqlite3_reset(handle) }
            guard sqlite3_step(handle) == SQLITE_DONE else { throw connection.failure() }
        }

        /// The first column of the first row, `nil` for no row or NULL.
        func integer(_ values: Value...) throws -> Int64? {
            try bind(values)
            defer { sqlite3_reset(handle) }
            switch sqlite3_step(handle) {
            case SQLITE_ROW: return sqlite3_column_type(handle, 0) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, 0)
            case SQLITE_DONE: return nil
            default: throw connection.failure()
            }
        }

        private func bind(_ values: [Value]) throws {
            for (offset, value) in values.enumerated() {
                let index = Int32(offset + 1)
                let result: Int32 = switch value {
                case .integer(let integer): sqlite3_bind_int64(handle, index, integer)
                case .text(let text): sqlite3_bind_text(handle, index, text, -1, Self.transient)
                case .blob(let bytes): sqlite3_bind_blob(handle, index, bytes, Int32(bytes.count), Self.transient)
                case .null: sqlite3_bind_null(handle, index)
                }
                guard result == SQLITE_OK else { throw connection.failure() }
            }
        }

        /// SQLITE_TRANSIENT: SQLite copies the bound bytes.
        private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    }
}
