import Foundation
import Herald
import Logging
import PostgresNIO

/// The reads of `herald_aggregates` (writes: `CommitFunction`).
enum AggregatesTable {
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
