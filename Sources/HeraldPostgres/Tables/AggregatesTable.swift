import Foundation
import Herald
import Logging
import PostgresNIO

/// All SQL of `herald_aggregates`.
enum AggregatesTable {
    /// Inserts (expected version 0) or updates (version check) one aggregate document.
    ///
    /// Under READ COMMITTED a concurrent writer of the same row waits for the first to
    /// commit and then re-checks the version, so exactly one of them succeeds.
    ///
    /// - Throws: ``ConcurrencyConflict`` when the stored version is not the expected one.
    static func write(_ write: AggregateWrite, at date: Date, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws {
        let stream = write.stream
        let written: Int
        if write.expectedVersion == 0 {
            written = try await connection.count(try """
                INSERT INTO \(unescaped: names.aggregates) (stream_type, stream_id, version, state, updated_at)
                VALUES (\(stream.type), \(stream.id), 1, \(write.state), \(date))
                ON CONFLICT (stream_type, stream_id) DO NOTHING
                RETURNING 1
                """, logger)
        } else {
            written = try await connection.count(try """
                UPDATE \(unescaped: names.aggregates) SET version = version + 1, state = \(write.state), updated_at = \(date)
                WHERE stream_type = \(stream.type) AND stream_id = \(stream.id) AND version = \(write.expectedVersion)
                RETURNING 1
                """, logger)
        }
        guard written == 1 else {
            throw ConcurrencyConflict(
                stream: stream, expectedVersion: write.expectedVersion,
                actualVersion: try await fetch(stream, names, connection, logger)?.version)
        }
    }

    static func fetch(_ stream: StreamID, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> StoredAggregate? {
        let rows = try await connection.query("""
            SELECT version, state FROM \(unescaped: names.aggregates) WHERE stream_type = \(stream.type) AND stream_id = \(stream.id)
            """, logger: logger)
        for try await (version, state) in rows.decode((Int64, Data).self) {
            return StoredAggregate(stream: stream, version: version, state: state)
        }
        return nil
    }
}
