import Foundation
import GRDB
import Herald

/// All SQL of `herald_aggregates`.
enum AggregatesTable {
    /// Inserts (expected version 0) or updates (version check) one aggregate document.
    ///
    /// - Throws: ``ConcurrencyConflict`` when the stored version is not the expected one.
    static func write(_ write: AggregateWrite, at date: Date, _ db: Database) throws {
        let now = SQLiteValues.micros(date)
        if write.expectedVersion == 0 {
            try db.cachedStatement(sql: """
                INSERT INTO herald_aggregates (stream_type, stream_id, version, state, updated_at) VALUES (?, ?, 1, ?, ?)
                ON CONFLICT (stream_type, stream_id) DO NOTHING
                """).execute(arguments: [write.stream.type, write.stream.id, write.state, now])
        } else {
            try db.cachedStatement(sql: """
                UPDATE herald_aggregates SET version = version + 1, state = ?, updated_at = ?
                WHERE stream_type = ? AND stream_id = ? AND version = ?
                """).execute(arguments: [write.state, now, write.stream.type, write.stream.id, write.expectedVersion])
        }
        guard db.changesCount == 1 else {
            throw ConcurrencyConflict(
                stream: write.stream, expectedVersion: write.expectedVersion, actualVersion: try version(of: write.stream, db))
        }
    }

    static func version(of stream: StreamID, _ db: Database) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT version FROM herald_aggregates WHERE stream_type = ? AND stream_id = ?"),
            arguments: [stream.type, stream.id])
    }

    static func fetch(_ stream: StreamID, _ connection: ReadConnection) throws -> StoredAggregate? {
        try connection.row("SELECT version, state FROM herald_aggregates WHERE stream_type = ? AND stream_id = ?", [stream.type, stream.id]) {
            try StoredAggregate(stream: stream, version: $0[0], state: $0[1])
        }
    }
}
