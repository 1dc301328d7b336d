import Foundation
import GRDB
import Herald

/// All SQL of `herald_subscriptions` (checkpoints), `herald_parked` (retrying, dead and
/// held events) and `herald_inbox`.
enum SubscriptionsTable {
    static func apply(_ progress: SubscriptionProgress, at date: Date, _ db: Database) throws {
        let name = progress.subscription
        let now = SQLiteValues.micros(date)
        if let fence = progress.fence { try LeasesTable.check(fence, db) }
        if let move = progress.checkpoint {
            let checkpoint = progress.checkpointName
            try db.cachedStatement(sql: "UPDATE herald_subscriptions SET position = ?, updated_at = ? WHERE name = ? AND position = ?")
                .execute(arguments: [move.to, now, checkpoint, move.from])
            if db.changesCount != 1 {
                let found = try Int64.fetchOne(db, sql: "SELECT position FROM herald_subscriptions WHERE name = ?", arguments: [checkpoint])
                throw StoreError.checkpointMoved(subscription: checkpoint, expected: move.from, found: found)
            }
        }
        if !progress.expectedParked.isEmpty {
            // The one writer runs this inside the commit's transaction: the check and the
            // writes below are one atomic step.
            let current = try db.cachedStatement(sql: "SELECT status, attempts FROM herald_parked WHERE subscription = ? AND position = ?")
            for expected in progress.expectedParked {
                let row = try Row.fetchOne(current, arguments: [name, expected.position])
                guard let row, row[0] as String == expected.status.rawValue, row[1] as Int == expected.attempts else {
                    throw StoreError.parkedEventChanged(subscription: name, position: expected.position)
                }
            }
        }
        let unpark = try db.cachedStatement(sql: "DELETE FROM herald_parked WHERE subscription = ? AND position = ?")
        for position in progress.unpark { try unpark.execute(arguments: [name, position]) }
        let park = try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO herald_parked (subscription, position, event_id, stream_type, stream_id, event_type,
                status, attempts, next_attempt_at, first_failed_at, last_failed_at, last_error)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for entry in progress.park {
            try park.execute(arguments: [
                name, entry.position, entry.eventID, entry.stream.type, entry.stream.id, entry.eventType,
                entry.status.rawValue, entry.attempts, entry.nextAttemptAt.map(SQLiteValues.micros),
                entry.firstFailedAt.map(SQLiteValues.micros), entry.lastFailedAt.map(SQLiteValues.micros), entry.lastError,
            ])
        }
        let inbox = try db.cachedStatement(sql: "INSERT OR IGNORE INTO herald_inbox (subscription, event_id, processed_at) VALUES (?, ?, ?)")
        for eventID in progress.inbox { try inbox.execute(arguments: [name, eventID, now]) }
    }

    static func checkpoint(of name: String, creatingAt initial: Int64, at date: Date, _ db: Database) throws -> Int64 {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO herald_subscriptions (name, position, updated_at) VALUES (?, ?, ?)")
            .execute(arguments: [name, initial, SQLiteValues.micros(date)])
        return try Int64.fetchOne(db, sql: "SELECT position FROM herald_subscriptions WHERE name = ?", arguments: [name]) ?? initial
    }

    /// See ``SubscriptionProgressStore/replaceCheckpoints(of:expecting:with:at:)``; runs in
    /// the one writer's transaction, so the check and the writes are one step.
    static func replaceCheckpoints(
        of subscription: String, expecting current: [String: Int64], with names: [String], at position: Int64, now: Date, _ db: Database
    ) throws {
        // The subscription's own row, and its partitions' (`name#…`: an exact prefix, not LIKE).
        let rows = try Row.fetchAll(db, sql: """
            SELECT name, position FROM herald_subscriptions WHERE name = ? OR substr(name, 1, length(?) + 1) = ? || '#'
            """, arguments: [subscription, subscription, subscription])
        let found = Dictionary(rows.map { ($0[0] as String, $0[1] as Int64) }) { first, _ in first }
            .filter { SQLiteEventStore.belongs($0.key, to: subscription) }
        guard found == current else { throw StoreError.checkpointsDiffer(found: found, expected: current, subscription: subscription) }
        for name in found.keys { try db.execute(sql: "DELETE FROM herald_subscriptions WHERE name = ?", arguments: [name]) }
        let insert = try db.cachedStatement(sql: "INSERT INTO herald_subscriptions (name, position, updated_at) VALUES (?, ?, ?)")
        for name in names { try insert.execute(arguments: [name, position, SQLiteValues.micros(now)]) }
    }

    static func checkpoint(of name: String, _ connection: ReadConnection) throws -> Int64? {
        try connection.value("SELECT position FROM herald_subscriptions WHERE name = ?", [name])
    }

    static func checkpoints(_ connection: ReadConnection) throws -> [String: Int64] {
        let rows = try connection.rows("SELECT name, position FROM herald_subscriptions") { row -> (String, Int64) in (try row[0], try row[1]) }
        return Dictionary(rows) { first, _ in first }
    }

    static func parked(subscription: String?, _ connection: ReadConnection) throws -> [ParkedEvent] {
        let columns = """
            subscription, position, event_id, stream_type, stream_id, event_type, status, attempts,
            next_attempt_at, first_failed_at, last_failed_at, last_error
            """
        let sql = subscription == nil
            ? "SELECT \(columns) FROM herald_parked ORDER BY subscription, position"
            : "SELECT \(columns) FROM herald_parked WHERE subscription = ? ORDER BY position"
        return try connection.rows(sql, subscription.map { [$0] } ?? []) { row in
            try ParkedEvent(
                subscription: row[0], position: row[1], eventID: row[2], stream: StreamID(type: row[3], id: row[4]),
                eventType: row[5], status: ParkedEvent.Status(rawValue: row[6]) ?? .dead, attempts: row[7],
                nextAttemptAt: (row[8] as Int64?).map(SQLiteValues.date), firstFailedAt: (row[9] as Int64?).map(SQLiteValues.date),
                lastFailedAt: (row[10] as Int64?).map(SQLiteValues.date), lastError: row[11])
        }
    }

    /// Deletes up to `limit` inbox entries whose event is no longer in the log.
    static func pruneInbox(limit: Int, _ db: Database) throws -> Int {
        try db.execute(
            sql: """
                DELETE FROM herald_inbox WHERE (subscription, event_id) IN (
                    SELECT i.subscription, i.event_id FROM herald_inbox i
                    WHERE NOT EXISTS (SELECT 1 FROM herald_events e WHERE e.event_id = i.event_id) LIMIT ?)
                """,
            arguments: [limit])
        return db.changesCount
    }

    static func inboxContains(subscription: String, eventID: UUID, _ connection: ReadConnection) throws -> Bool {
        try connection.value("SELECT EXISTS (SELECT 1 FROM herald_inbox WHERE subscription = ? AND event_id = ?)", [subscription, eventID]) ?? false
    }
}
