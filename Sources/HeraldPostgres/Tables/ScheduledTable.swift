import Foundation
import Herald
import Logging
import PostgresNIO

/// All SQL of `herald_scheduled`, except deletions on delivery and cancellation (`CommitFunction`).
enum ScheduledTable {
    static let columns = """
        key, due_at, event_id, stream_type, stream_id, event_type, schema_version, payload, occurred_at,
        causation_id, correlation_id, traceparent, metadata::text
        """

    static func upsert(_ message: ScheduledMessage, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws {
        let event = message.event
        try await connection.run(try """
            INSERT INTO \(unescaped: names.scheduled) (key, due_at, event_id, stream_type, stream_id, event_type,
                schema_version, payload, occurred_at, causation_id, correlation_id, traceparent, metadata)
            VALUES (\(message.key), \(message.dueAt), \(event.eventID), \(event.stream.type), \(event.stream.id),
                \(event.eventType), \(event.schemaVersion), \(event.payload), \(event.occurredAt), \(event.causationID),
                \(event.correlationID), \(event.traceparent), \(try StoredMetadata.encode(event.metadata))::jsonb)
            ON CONFLICT (key) DO UPDATE SET due_at = excluded.due_at, event_id = excluded.event_id,
                stream_type = excluded.stream_type, stream_id = excluded.stream_id, event_type = excluded.event_type,
                schema_version = excluded.schema_version, payload = excluded.payload, occurred_at = excluded.occurred_at,
                causation_id = excluded.causation_id, correlation_id = excluded.correlation_id,
                traceparent = excluded.traceparent, metadata = excluded.metadata
            """, logger)
    }

    static func due(at date: Date, limit: Int, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> [ScheduledMessage] {
        try await fetch(connection, logger, """
            SELECT \(unescaped: columns) FROM \(unescaped: names.scheduled) WHERE due_at <= \(date) ORDER BY due_at, key LIMIT \(limit)
            """)
    }

    static func nextDueDate(_ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> Date? {
        let rows = try await connection.query("SELECT MIN(due_at) FROM \(unescaped: names.scheduled)", logger: logger)
        for try await date in rows.decode(Date?.self) { return date }
        return nil
    }

    static func counts(dueBy date: Date, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> ScheduledMessageCounts {
        let rows = try await connection.query("""
            SELECT COUNT(*), COUNT(*) FILTER (WHERE due_at <= \(date)) FROM \(unescaped: names.scheduled)
            """, logger: logger)
        for try await (pending, due) in rows.decode((Int64, Int64).self) { return ScheduledMessageCounts(pending: Int(pending), due: Int(due)) }
        return ScheduledMessageCounts(pending: 0, due: 0)
    }

    private static func fetch(_ connection: PostgresConnection, _ logger: Logger, _ query: PostgresQuery) async throws -> [ScheduledMessage] {
        var result: [ScheduledMessage] = []
        let rows = try await connection.query(query, logger: logger)
        for try await row in rows.decode(
            (String, Date, UUID, String, String, String, Int, Data, Date, UUID?, UUID?, String?, String?).self)
        {
            result.append(ScheduledMessage(
                key: row.0,
                event: NewEvent(
                    eventID: row.2, stream: StreamID(type: row.3, id: row.4), eventType: row.5, schemaVersion: row.6,
                    payload: row.7, occurredAt: row.8, causationID: row.9, correlationID: row.10, traceparent: row.11,
                    metadata: try StoredMetadata.decode(row.12)),
                dueAt: row.1))
        }
        return result
    }
}
