import Foundation
import Herald
import Logging
import PostgresNIO

/// All SQL of `herald_subscriptions` (checkpoints), `herald_parked` (retrying, dead and
/// held events) and `herald_inbox`.
enum SubscriptionsTable {
    /// Whether `changeset` only moves an unfenced checkpoint: nothing else to write, no
    /// lease to check, no parked event or inbox entry.
    static func movesOnlyTheCheckpoint(_ changeset: Changeset) -> Bool {
        guard let progress = changeset.subscription, progress.checkpoint != nil, progress.fence == nil else { return false }
        return progress.expectedParked.isEmpty && progress.park.isEmpty && progress.unpark.isEmpty && progress.inbox.isEmpty
            && !CommitFunction.hasWork(in: changeset) && changeset.scheduled.isEmpty && changeset.projectionWrites.isEmpty
            && changeset.projectionFence == nil
    }

    static func apply(_ progress: SubscriptionProgress, at date: Date, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws {
        let name = progress.subscription
        if let fence = progress.fence { try await LeasesTable.check(fence, names, connection, logger) }
        if let move = progress.checkpoint {
            // A second worker on the same checkpoint waits on the row lock, then finds the
            // checkpoint moved and rolls back.
            let checkpoint = progress.checkpointName
            let moved = try await connection.count("""
                UPDATE \(unescaped: names.subscriptions) SET position = \(move.to), updated_at = \(date)
                WHERE name = \(checkpoint) AND position = \(move.from)
                RETURNING 1
                """, logger)
            if moved != 1 {
                throw StoreError.checkpointMoved(
                    subscription: checkpoint, expected: move.from, found: try await Self.checkpoint(of: checkpoint, names, connection, logger))
            }
        }
        if !progress.expectedParked.isEmpty {
            // FOR UPDATE waits for a concurrent commit on these rows, then sees its result
            // (a deleted row is not returned): the comparison is against the latest state.
            let rows = try await connection.query("""
                SELECT position, status, attempts FROM \(unescaped: names.parked)
                WHERE subscription = \(name) AND position = ANY(\(progress.expectedParked.map(\.position)))
                FOR UPDATE
                """, logger: logger)
            var stored: [Int64: (status: String, attempts: Int)] = [:]
            for try await (position, status, attempts) in rows.decode((Int64, String, Int).self) { stored[position] = (status, attempts) }
            for expected in progress.expectedParked
            where stored[expected.position]?.status != expected.status.rawValue || stored[expected.position]?.attempts != expected.attempts {
                throw StoreError.parkedEventChanged(subscription: name, position: expected.position)
            }
        }
        if !progress.unpark.isEmpty {
            try await connection.run("""
                DELETE FROM \(unescaped: names.parked) WHERE subscription = \(name) AND position = ANY(\(progress.unpark))
                """, logger)
        }
        for entry in progress.park {
            try await connection.run("""
                INSERT INTO \(unescaped: names.parked) (subscription, position, event_id, stream_type, stream_id, event_type,
                    status, attempts, next_attempt_at, first_failed_at, last_failed_at, last_error)
                VALUES (\(name), \(entry.position), \(entry.eventID), \(entry.stream.type), \(entry.stream.id), \(entry.eventType),
                    \(entry.status.rawValue), \(entry.attempts), \(entry.nextAttemptAt), \(entry.firstFailedAt),
                    \(entry.lastFailedAt), \(entry.lastError))
                ON CONFLICT (subscription, position) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
                    next_attempt_at = excluded.next_attempt_at, first_failed_at = excluded.first_failed_at,
                    last_failed_at = excluded.last_failed_at, last_error = excluded.last_error
                """, logger)
        }
        if !progress.inbox.isEmpty {
            try await connection.run("""
                INSERT INTO \(unescaped: names.inbox) (subscription, event_id, processed_at)
                SELECT \(name), id, \(date) FROM unnest(\(progress.inbox)::uuid[]) AS id
                ON CONFLICT DO NOTHING
                """, logger)
        }
    }

    static func checkpoint(of name: String, creatingAt initial: Int64, at date: Date, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> Int64 {
        try await connection.run("""
            INSERT INTO \(unescaped: names.subscriptions) (name, position, updated_at) VALUES (\(name), \(initial), \(date))
            ON CONFLICT (name) DO NOTHING
            """, logger)
        return try await checkpoint(of: name, names, connection, logger) ?? initial
    }

    /// See ``SubscriptionProgressStore/replaceCheckpoints(of:expecting:with:at:)``; runs in a
    /// transaction. An advisory lock per subscription orders concurrent replacements (the
    /// second sees the first's rows); `FOR UPDATE` makes a worker's concurrent checkpoint
    /// move either land first (and the comparison fails) or wait and find its row gone.
    static func replaceCheckpoints(
        of subscription: String, expecting current: [String: Int64], with checkpoints: [String], at position: Int64, now: Date,
        _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger
    ) async throws {
        try await connection.run(
            "SELECT pg_advisory_xact_lock(hashtextextended(\(names.subscriptions + " " + subscription), 0))", logger)
        let rows = try await connection.query("""
            SELECT name, position FROM \(unescaped: names.subscriptions)
            WHERE name = \(subscription) OR left(name, length(\(subscription)) + 1) = \(subscription) || '#'
            FOR UPDATE
            """, logger: logger)
        var found: [String: Int64] = [:]
        for try await (name, position) in rows.decode((String, Int64).self) where PostgresEventStore.belongs(name, to: subscription) {
            found[name] = position
        }
        guard found == current else { throw StoreError.checkpointsDiffer(found: found, expected: current, subscription: subscription) }
        try await connection.run("DELETE FROM \(unescaped: names.subscriptions) WHERE name = ANY(\(Array(found.keys)))", logger)
        try await connection.run("""
            INSERT INTO \(unescaped: names.subscriptions) (name, position, updated_at)
            SELECT unnest(\(checkpoints)::text[]), \(position), \(now)
            """, logger)
    }

    static func checkpoint(of name: String, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> Int64? {
        let rows = try await connection.query(
            "SELECT position FROM \(unescaped: names.subscriptions) WHERE name = \(name)", logger: logger)
        for try await position in rows.decode(Int64.self) { return position }
        return nil
    }

    static func checkpoints(_ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        let rows = try await connection.query("SELECT name, position FROM \(unescaped: names.subscriptions)", logger: logger)
        for try await (name, position) in rows.decode((String, Int64).self) { result[name] = position }
        return result
    }

    static func parked(subscription: String?, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> [ParkedEvent] {
        let rows = try await connection.query("""
            SELECT subscription, position, event_id, stream_type, stream_id, event_type, status, attempts,
                next_attempt_at, first_failed_at, last_failed_at, last_error
            FROM \(unescaped: names.parked)
            WHERE \(subscription)::text IS NULL OR subscription = \(subscription)
            ORDER BY subscription, position
            """, logger: logger)
        var result: [ParkedEvent] = []
        for try await row in rows.decode(
            (String, Int64, UUID, String, String, String, String, Int, Date?, Date?, Date?, String?).self)
        {
            result.append(ParkedEvent(
                subscription: row.0, position: row.1, eventID: row.2, stream: StreamID(type: row.3, id: row.4),
                eventType: row.5, status: ParkedEvent.Status(rawValue: row.6) ?? .dead, attempts: row.7,
                nextAttemptAt: row.8, firstFailedAt: row.9, lastFailedAt: row.10, lastError: row.11))
        }
        return result
    }

    /// The checkpoint `checkpointName` (`nil` when there is none) and `subscription`'s parked
    /// events, in one statement: a subscription worker's first read of every pass.
    static func checkpointAndParked(
        checkpointName: String, subscription: String, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger
    ) async throws -> (checkpoint: Int64?, parked: [ParkedEvent]) {
        let rows = try await connection.query("""
            SELECT c.position, p.position, p.event_id, p.stream_type, p.stream_id, p.event_type, p.status, p.attempts,
                p.next_attempt_at, p.first_failed_at, p.last_failed_at, p.last_error
            FROM \(unescaped: names.subscriptions) AS c
            LEFT JOIN \(unescaped: names.parked) AS p ON p.subscription = \(subscription)
            WHERE c.name = \(checkpointName)
            ORDER BY p.position
            """, logger: logger)
        var checkpoint: Int64?
        var parked: [ParkedEvent] = []
        for try await row in rows.decode(
            (Int64, Int64?, UUID?, String?, String?, String?, String?, Int?, Date?, Date?, Date?, String?).self)
        {
            checkpoint = row.0
            guard let position = row.1, let eventID = row.2, let type = row.3, let id = row.4, let eventType = row.5, let status = row.6,
                  let attempts = row.7
            else { continue }
            parked.append(ParkedEvent(
                subscription: subscription, position: position, eventID: eventID, stream: StreamID(type: type, id: id),
                eventType: eventType, status: ParkedEvent.Status(rawValue: status) ?? .dead, attempts: attempts,
                nextAttemptAt: row.8, firstFailedAt: row.9, lastFailedAt: row.10, lastError: row.11))
        }
        return (checkpoint, parked)
    }

    static func inboxContains(subscription: String, eventID: UUID, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> Bool {
        let rows = try await connection.query("""
            SELECT EXISTS (SELECT 1 FROM \(unescaped: names.inbox) WHERE subscription = \(subscription) AND event_id = \(eventID))
            """, logger: logger)
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }
}
