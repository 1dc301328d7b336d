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

    static func fetch(_ streams: [StreamID], _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> [StreamID: StoredAggregate] {
        let unique = Array(Set(streams))
        let rows = try await connection.query("""
            SELECT a.stream_type, a.stream_id, a.version, a.state
            FROM unnest(\(unique.map(\.type))::text[], \(unique.map(\.id))::text[]) AS wanted (stream_type, stream_id)
            JOIN \(unescaped: names.aggregates) AS a USING (stream_type, stream_id)
            """, logger: logger)
        var found: [StreamID: StoredAggregate] = [:]
        for try await (type, id, version, state) in rows.decode((String, String, Int64, Data).self) {
            let stream = StreamID(type: type, id: id)
            found[stream] = StoredAggregate(stream: stream, version: version, state: state)
        }
        return found
    }
}
