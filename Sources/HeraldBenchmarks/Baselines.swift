import Foundation
import GRDBSQLite
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
        var connection: OpaquePointer?
        guard sqlite3_open_v2(path, &connection, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
              let db = connection else { throw SQLiteFailure(description: "cannot open \(path)") }
        defer { sqlite3_close_v2(db) }
        func execute(_ sql: String) throws {
            guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw SQLiteFailure(description: String(cString: sqlite3_errmsg(db))) }
        }
        try execute("PRAGMA journal_mode = WAL")
        try execute("PRAGMA synchronous = \(synchronous.rawValue)")
        try execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        var prepared: OpaquePointer?
        guard sqlite3_prepare_v2(db, "INSERT INTO raw (payload) VALUES (?)", -1, &prepared, nil) == SQLITE_OK, let insert = prepared else {
            throw SQLiteFailure(description: String(cString: sqlite3_errmsg(db)))
        }
        defer { sqlite3_finalize(insert) }
        let payload = [UInt8](repeating: 7, count: 64)
        let start = ContinuousClock.now
        for _ in 0..<count {
            // An autocommit INSERT: one statement, one transaction.
            sqlite3_bind_blob(insert, 1, payload, Int32(payload.count), nil)
            guard sqlite3_step(insert) == SQLITE_DONE else { throw SQLiteFailure(description: String(cString: sqlite3_errmsg(db))) }
            sqlite3_reset(insert)
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
