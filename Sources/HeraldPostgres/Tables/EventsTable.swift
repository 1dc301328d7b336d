import Foundation
import Herald
import Logging
import PostgresNIO

/// The reads of `herald_events` (appends: `CommitFunction`).
enum EventsTable {
    static let columns = """
        position, event_id, stream_type, stream_id, stream_version, event_type, schema_version,
        payload, occurred_at, recorded_at, causation_id, correlation_id, traceparent, metadata::text
        """

    /// Up to `limit` events after the one at `position`, in delivery order, and whether
    /// more events after them are visible already but not yet safe to deliver.
    ///
    /// Delivery order is `(tx_id, position)`. Only rows below `pg_snapshot_xmin` of the
    /// statement's own snapshot are safe: every transaction with a smaller id has ended, and
    /// any transaction still to commit has a larger id, so it sorts after everything
    /// delivered so far. Safe rows come first in this order, so the safe ones are a prefix.
    static func after(_ position: Int64, limit: Int, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> (events: [EventEnvelope], pending: Bool) {
        var events: [EventEnvelope] = []
        var pending = false
        let rows = try await connection.query("""
            SELECT \(unescaped: columns), tx_id < pg_snapshot_xmin(pg_current_snapshot()) FROM \(unescaped: names.events)
            WHERE (tx_id, position) > (
                    COALESCE((SELECT tx_id FROM \(unescaped: names.events) WHERE position = \(position)), '0'::xid8),
                    \(position))
            ORDER BY tx_id, position
            LIMIT \(limit)
            """, logger: logger)
        for try await r in rows.decode(
            (Int64, UUID, String, String, Int64, String, Int, Data, Date, Date, UUID?, UUID?, String?, String?, Bool).self)
        {
            guard r.14 else { pending = true; break }
            events.append(try envelope((r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11, r.12, r.13)))
        }
        return (events, pending)
    }

    /// Up to `limit` events after `position` that match `filter`, no further than the last
    /// event safe to deliver; the position the scan reached; and whether newer events wait
    /// for an older transaction still running.
    ///
    /// Two statements: the safe head first (as in ``head(_:_:_:)``), then the matching rows
    /// up to it. Everything up to the head was committed before the second statement's
    /// snapshot, so it sees all of it. `position` must be 0 or an event read as safe before
    /// (a checkpoint is).
    static func after(
        _ position: Int64, limit: Int, matching filter: EventFilter, _ names: PostgresNames, _ connection: PostgresConnection,
        _ logger: Logger
    ) async throws -> (events: [EventEnvelope], scannedThrough: Int64?, pending: Bool) {
        let head = try await self.head(names, connection, logger)
        let start = "COALESCE((SELECT tx_id FROM \(names.events) WHERE position = $1), '0'::xid8)"
        let end = "(SELECT tx_id FROM \(names.events) WHERE position = $2)"
        guard head.position != position, head.position != 0 else { return ([], nil, head.pending) }
        var bindings = PostgresBindings()
        bindings.append(position)
        bindings.append(head.position)
        var conditions = ["(tx_id, position) > (\(start), $1)", "(tx_id, position) <= (\(end), $2)"]
        if let types = filter.types {
            bindings.append(types.sorted())
            conditions.append("event_type = ANY($\(bindings.count))")
        }
        if let partition = filter.partition {
            bindings.append(filter.partitionCount)
            bindings.append(partition)
            conditions.append("stream_hash % $\(bindings.count - 1) = $\(bindings.count)")
        }
        bindings.append(limit)
        let sql = """
            SELECT \(columns) FROM \(names.events) WHERE \(conditions.joined(separator: " AND "))
            ORDER BY tx_id, position LIMIT $\(bindings.count)
            """
        let events = try await fetch(connection, logger, PostgresQuery(unsafeSQL: sql, binds: bindings))
        // The head is safe, and so is every checkpoint: the safe set only grows, so the head
        // comes after `position` in delivery order unless it is `position` (handled above).
        return events.count == limit ? (events, events.last?.position, true) : (events, head.position, head.pending)
    }

    static func at(_ positions: [Int64], _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> [EventEnvelope] {
        guard !positions.isEmpty else { return [] }
        return try await fetch(connection, logger, """
            SELECT \(unescaped: columns) FROM \(unescaped: names.events) WHERE position = ANY(\(positions)) ORDER BY position
            """)
    }

    /// The last event in delivery order that is safe to deliver (0 when none), and whether
    /// newer events are visible already but wait for an older transaction still running.
    /// One statement, so both answers come from the same snapshot.
    static func firstPosition(of stream: StreamID, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> Int64? {
        let rows = try await connection.query("""
            SELECT position FROM \(unescaped: names.events) WHERE stream_type = \(stream.type) AND stream_id = \(stream.id)
            ORDER BY stream_version LIMIT 1
            """, logger: logger)
        for try await position in rows.decode(Int64.self) { return position }
        return nil
    }

    static func head(_ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> (position: Int64, pending: Bool) {
        let rows = try await connection.query("""
            SELECT
                COALESCE((SELECT position FROM \(unescaped: names.events)
                          WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())
                          ORDER BY tx_id DESC, position DESC LIMIT 1), 0),
                EXISTS (SELECT 1 FROM \(unescaped: names.events) WHERE tx_id >= pg_snapshot_xmin(pg_current_snapshot()))
            """, logger: logger)
        for try await (position, pending) in rows.decode((Int64, Bool).self) { return (position, pending) }
        return (0, false)
    }

    /// Events after the one at `position` and up to the one at `head`, in delivery order.
    static func count(after position: Int64, through head: Int64, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> Int64 {
        let rows = try await connection.query("""
            SELECT count(*) FROM \(unescaped: names.events)
            WHERE (tx_id, position) > (COALESCE((SELECT tx_id FROM \(unescaped: names.events) WHERE position = \(position)), '0'::xid8), \(position))
                AND (tx_id, position) <= ((SELECT tx_id FROM \(unescaped: names.events) WHERE position = \(head)), \(head))
            """, logger: logger)
        for try await count in rows.decode(Int64.self) { return count }
        return 0
    }

    /// Of `positions`, the first in delivery order; 0 when one is not in the log.
    static func earliest(of positions: Set<Int64>, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> Int64 {
        let rows = try await connection.query("""
            SELECT position, count(*) OVER () FROM \(unescaped: names.events)
            WHERE position = ANY(\(positions.sorted())) ORDER BY tx_id, position LIMIT 1
            """, logger: logger)
        for try await (position, found) in rows.decode((Int64, Int64).self) { return found == positions.count ? position : 0 }
        return 0
    }

    typealias Row = (Int64, UUID, String, String, Int64, String, Int, Data, Date, Date, UUID?, UUID?, String?, String?)

    private static func fetch(_ connection: PostgresConnection, _ logger: Logger, _ query: PostgresQuery) async throws -> [EventEnvelope] {
        var result: [EventEnvelope] = []
        for try await row in try await connection.query(query, logger: logger).decode(Row.self) {
            result.append(try envelope(row))
        }
        return result
    }

    private static func envelope(_ row: Row) throws -> EventEnvelope {
        EventEnvelope(
            eventID: row.1, stream: StreamID(type: row.2, id: row.3), streamVersion: row.4, position: row.0,
            eventType: row.5, schemaVersion: row.6, payload: row.7, occurredAt: row.8, recordedAt: row.9,
            causationID: row.10, correlationID: row.11, traceparent: row.12,
            metadata: try StoredMetadata.decode(row.13))
    }
}

extension PSQLError {
    /// Whether this is a unique-constraint violation on a constraint whose name contains `column`.
    func isUniqueViolation(on column: String) -> Bool {
        serverInfo?[.sqlState] == "23505" && (serverInfo?[.constraintName] ?? "").contains(column)
    }
}
