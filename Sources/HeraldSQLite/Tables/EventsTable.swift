import Foundation
import GRDB
import Herald

/// All SQL of `herald_events`.
enum EventsTable {
    static let columns = """
        position, event_id, stream_type, stream_id, stream_version, event_type, schema_version,
        payload, occurred_at, recorded_at, causation_id, correlation_id, traceparent, metadata
        """

    /// Appends events in order, numbering each stream on from its last version.
    static func append(_ events: [NewEvent], recordedAt: Date, _ db: Database) throws -> [EventEnvelope] {
        guard !events.isEmpty else { return [] }
        let insert = try db.cachedStatement(sql: """
            INSERT INTO herald_events (event_id, stream_type, stream_id, stream_version, event_type, schema_version,
                payload, occurred_at, recorded_at, causation_id, correlation_id, traceparent, metadata)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let recordedMicros = SQLiteValues.micros(recordedAt)
        var versions: [StreamID: Int64] = [:]
        var recorded: [EventEnvelope] = []
        recorded.reserveCapacity(events.count)
        for event in events {
            let version = try (versions[event.stream] ?? lastVersion(of: event.stream, db)) + 1
            versions[event.stream] = version
            do {
                try insert.execute(arguments: [
                    event.eventID, event.stream.type, event.stream.id, version, event.eventType, event.schemaVersion,
                    event.payload, SQLiteValues.micros(event.occurredAt), recordedMicros, event.causationID,
                    event.correlationID, event.traceparent, try StoredMetadata.encode(event.metadata),
                ])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE
                && (error.message ?? "").contains("event_id")
            {
                throw StoreError.duplicateEventID(event.eventID)
            }
            recorded.append(event.recorded(streamVersion: version, position: db.lastInsertedRowID, at: recordedAt))
        }
        return recorded
    }

    static func lastVersion(of stream: StreamID, _ db: Database) throws -> Int64 {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT MAX(stream_version) FROM herald_events WHERE stream_type = ? AND stream_id = ?"),
            arguments: [stream.type, stream.id]) ?? 0
    }

    static func after(_ position: Int64, limit: Int, _ connection: ReadConnection) throws -> [EventEnvelope] {
        try fetch(connection, sql: "SELECT \(columns) FROM herald_events WHERE position > ? ORDER BY position LIMIT ?", [position, limit])
    }

    /// Events matching `filter` in a range after `position` of `limit` events (times the
    /// partition count for one partition, up to 10,000): the end of the range from the
    /// position index, then the rows of the wanted types within it, filtered by partition.
    static func after(_ position: Int64, limit: Int, matching filter: EventFilter, _ connection: ReadConnection) throws -> (events: [EventEnvelope], scannedThrough: Int64?) {
        let range = filter.partition == nil ? limit : min(10_000, max(limit, limit * filter.partitionCount))
        guard let end = try endOfRange(after: position, limit: range, connection) else { return ([], nil) }
        let events = try between(position, end, ofTypes: filter.types, connection).filter(filter.matches)
        return (events.count > limit ? Array(events.prefix(limit)) : events, events.count > limit ? events[limit - 1].position : end)
    }

    /// The position of the `limit`-th event after `position` (or the last one, if fewer).
    static func endOfRange(after position: Int64, limit: Int, _ connection: ReadConnection) throws -> Int64? {
        try connection.value(
            "SELECT MAX(position) FROM (SELECT position FROM herald_events WHERE position > ? ORDER BY position LIMIT ?)", [position, limit])
    }

    /// Events of `types` (all when `nil`) with `after < position <= through`, in position order.
    static func between(_ after: Int64, _ through: Int64, ofTypes types: Set<String>?, _ connection: ReadConnection) throws -> [EventEnvelope] {
        guard let types else {
            return try fetch(
                connection, sql: "SELECT \(columns) FROM herald_events WHERE position > ? AND position <= ? ORDER BY position", [after, through])
        }
        guard !types.isEmpty else { return [] }
        return try fetch(connection, sql: betweenOfTypesSQL(types.count), [after, through] + types.map { $0 as any SQLiteArgument })
    }

    /// The SQL of ``between(_:_:ofTypes:_:)`` for `count` types, which depends on the count
    /// alone: the texts for up to 32 are built once (building one per read was 1% of Mall's
    /// instructions per order).
    private static func betweenOfTypesSQL(_ count: Int) -> String {
        count < betweenOfTypes.count ? betweenOfTypes[count] : makeBetweenOfTypesSQL(count)
    }

    private static let betweenOfTypes = (0...32).map(makeBetweenOfTypesSQL)

    private static func makeBetweenOfTypesSQL(_ count: Int) -> String {
        let marks = Array(repeating: "?", count: count).joined(separator: ",")
        return "SELECT \(columns) FROM herald_events WHERE position > ? AND position <= ? AND event_type IN (\(marks)) ORDER BY position"
    }

    static func at(_ positions: [Int64], _ connection: ReadConnection) throws -> [EventEnvelope] {
        guard !positions.isEmpty else { return [] }
        var result: [EventEnvelope] = []
        // Chunked to stay far below SQLite's bound-parameter limit.
        for chunk in stride(from: 0, to: positions.count, by: 500).map({ Array(positions[$0..<min($0 + 500, positions.count)]) }) {
            let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
            result += try fetch(connection, sql: "SELECT \(columns) FROM herald_events WHERE position IN (\(marks))", chunk, keep: false)
        }
        return result.sorted { $0.position < $1.position }
    }

    /// Deletes up to `limit` events before `position` (SQLite delivers in position order)
    /// recorded before `recordedBefore` and of no type in `keepingTypes`; never the newest.
    static func prune(before position: Int64, recordedBefore: Date, keepingTypes: Set<String>, limit: Int, _ db: Database) throws -> Int {
        let types = keepingTypes.sorted()
        let placeholders = types.isEmpty ? "" : " AND event_type NOT IN (\(types.map { _ in "?" }.joined(separator: ", ")))"
        var arguments: [(any DatabaseValueConvertible)?] = [position, SQLiteValues.micros(recordedBefore)]
        arguments += types
        arguments.append(limit)
        try db.execute(
            sql: """
                DELETE FROM herald_events WHERE position IN (
                    SELECT position FROM herald_events
                    WHERE position < ? AND position < (SELECT MAX(position) FROM herald_events) AND recorded_at < ?\(placeholders)
                    ORDER BY position LIMIT ?)
                """,
            arguments: StatementArguments(arguments))
        return db.changesCount
    }

    static func head(_ connection: ReadConnection) throws -> Int64 {
        try connection.value("SELECT MAX(position) FROM herald_events") ?? 0
    }

    static func firstPosition(of stream: StreamID, _ connection: ReadConnection) throws -> Int64? {
        try connection.value(
            "SELECT position FROM herald_events WHERE stream_type = ? AND stream_id = ? ORDER BY stream_version LIMIT 1", [stream.type, stream.id])
    }

    private static func fetch(_ connection: ReadConnection, sql: String, _ arguments: [any SQLiteArgument], keep: Bool = true) throws -> [EventEnvelope] {
        try connection.rows(sql, arguments, keep: keep) { row in
            try EventEnvelope(
                eventID: row[1], stream: StreamID(type: row[2], id: row[3]), streamVersion: row[4], position: row[0],
                eventType: row[5], schemaVersion: row[6], payload: row[7],
                occurredAt: SQLiteValues.date(row[8]), recordedAt: SQLiteValues.date(row[9]),
                causationID: row[10], correlationID: row[11], traceparent: row[12],
                metadata: try StoredMetadata.decode(row[13]))
        }
    }
}
