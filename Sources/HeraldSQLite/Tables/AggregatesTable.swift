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

    /// One batch of ``EventPruning/pruneDocuments(ofType:writtenBefore:after:limit:)``.
    static func prune(ofType type: String, writtenBefore: Date, after cursor: String?, limit: Int, _ db: Database) throws -> (deleted: Int, next: String?) {
        let after = cursor == nil ? "" : " AND stream_id > ?"
        let from: [(any DatabaseValueConvertible)?] = [type] + (cursor.map { [$0] } ?? [])
        let window = try String.fetchAll(
            db.cachedStatement(sql: "SELECT stream_id FROM herald_aggregates WHERE stream_type = ?\(after) ORDER BY stream_id LIMIT ?"),
            arguments: StatementArguments(from + [limit]))
        guard let last = window.last else { return (0, nil) }
        try db.cachedStatement(sql: "DELETE FROM herald_aggregates WHERE stream_type = ?\(after) AND stream_id <= ? AND updated_at < ?")
            .execute(arguments: StatementArguments(from + [last, SQLiteValues.micros(writtenBefore)]))
        return (db.changesCount, window.count < limit ? nil : last)
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
