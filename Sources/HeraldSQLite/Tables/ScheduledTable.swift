import Foundation
import GRDB
import Herald

/// All SQL of `herald_scheduled`.
enum ScheduledTable {
    static let columns = """
        key, due_at, event_id, stream_type, stream_id, event_type, schema_version, payload, occurred_at,
        causation_id, correlation_id, traceparent, metadata
        """

    static func upsert(_ message: ScheduledMessage, _ db: Database) throws {
        let event = message.event
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO herald_scheduled (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: [
                message.key, SQLiteValues.micros(message.dueAt), event.eventID, event.stream.type, event.stream.id,
                event.eventType, event.schemaVersion, event.payload, SQLiteValues.micros(event.occurredAt),
                event.causationID, event.correlationID, event.traceparent, try StoredMetadata.encode(event.metadata),
            ])
    }

    static func cancel(key: String, _ db: Database) throws {
        try db.cachedStatement(sql: "DELETE FROM herald_scheduled WHERE key = ?").execute(arguments: [key])
    }

    /// Removes a message being delivered.
    ///
    /// - Throws: ``StoreError/scheduledMessageGone(key:)`` when it was cancelled or delivered already.
    static func markDelivered(key: String, _ db: Database) throws {
        try cancel(key: key, db)
        guard db.changesCount == 1 else { throw StoreError.scheduledMessageGone(key: key) }
    }

    static func due(at date: Date, limit: Int, _ connection: ReadConnection) throws -> [ScheduledMessage] {
        try fetch(connection, sql: "SELECT \(columns) FROM herald_scheduled WHERE due_at <= ? ORDER BY due_at, key LIMIT ?",
                  [SQLiteValues.micros(date), limit])
    }

    static func nextDueDate(_ connection: ReadConnection) throws -> Date? {
        try (connection.value("SELECT MIN(due_at) FROM herald_scheduled") as Int64?).map(SQLiteValues.date)
    }

    static func counts(dueBy date: Date, _ connection: ReadConnection) throws -> ScheduledMessageCounts {
        let pending: Int64? = try connection.value("SELECT COUNT(*) FROM herald_scheduled")
        let due: Int64? = try connection.value("SELECT COUNT(*) FROM herald_scheduled WHERE due_at <= ?", [SQLiteValues.micros(date)])
        return ScheduledMessageCounts(pending: Int(pending ?? 0), due: Int(due ?? 0))
    }

    private static func fetch(_ connection: ReadConnection, sql: String, _ arguments: [any SQLiteArgument]) throws -> [ScheduledMessage] {
        try connection.rows(sql, arguments) { row in
            try ScheduledMessage(
                key: row[0],
                event: NewEvent(
                    eventID: row[2], stream: StreamID(type: row[3], id: row[4]), eventType: row[5], schemaVersion: row[6],
                    payload: row[7], occurredAt: SQLiteValues.date(row[8]), causationID: row[9], correlationID: row[10],
                    traceparent: row[11], metadata: try StoredMetadata.decode(row[12])),
                dueAt: SQLiteValues.date(row[1]))
        }
    }
}
