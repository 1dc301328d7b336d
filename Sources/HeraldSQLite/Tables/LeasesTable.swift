import Foundation
import GRDB
import Herald

/// All SQL of `herald_leases` (who handles which partition, with which fencing token) and
/// `herald_nodes` (the live nodes sharing a subscription's partitions).
enum LeasesTable {
    static func heartbeat(group: String, node: String, now: Date, expiresAt: Date, _ db: Database) throws -> [String] {
        try db.cachedStatement(sql: """
            INSERT INTO herald_nodes (group_name, node, expires_at) VALUES (?, ?, ?)
            ON CONFLICT (group_name, node) DO UPDATE SET expires_at = excluded.expires_at
            """).execute(arguments: [group, node, SQLiteValues.micros(expiresAt)])
        let now = SQLiteValues.micros(now)
        try db.cachedStatement(sql: "DELETE FROM herald_nodes WHERE group_name = ? AND expires_at <= ?").execute(arguments: [group, now])
        return try String.fetchAll(
            db.cachedStatement(sql: "SELECT node FROM herald_nodes WHERE group_name = ? ORDER BY node"), arguments: [group])
    }

    /// One upsert: a new lease gets token 1; a renewal by the owner of a lease unexpired at
    /// `now` keeps its token; taking over an expired lease adds one; else nothing changes.
    static func acquire(subscription: String, partition: Int, owner: String, now: Date, expiresAt: Date, _ db: Database) throws -> PartitionLease? {
        let now = SQLiteValues.micros(now)
        let token = try Int64.fetchOne(
            db.cachedStatement(sql: """
                INSERT INTO herald_leases (subscription, partition, owner, token, expires_at) VALUES (?, ?, ?, 1, ?)
                ON CONFLICT (subscription, partition) DO UPDATE SET
                    token = CASE WHEN owner = excluded.owner AND expires_at > ? THEN token ELSE token + 1 END,
                    owner = excluded.owner, expires_at = excluded.expires_at
                WHERE owner = excluded.owner OR expires_at <= ?
                RETURNING token
                """),
            arguments: [subscription, partition, owner, SQLiteValues.micros(expiresAt), now, now])
        return token.map { PartitionLease(subscription: subscription, partition: partition, owner: owner, token: $0, expiresAt: expiresAt) }
    }

    static func release(_ lease: PartitionLease, _ db: Database) throws {
        try db.cachedStatement(sql: """
            UPDATE herald_leases SET expires_at = 0 WHERE subscription = ? AND partition = ? AND owner = ? AND token = ?
            """).execute(arguments: [lease.subscription, lease.partition, lease.owner, lease.token])
    }

    static func leases(subscription: String, _ connection: ReadConnection) throws -> [PartitionLease] {
        try connection.rows("SELECT partition, owner, token, expires_at FROM herald_leases WHERE subscription = ? ORDER BY partition", [subscription]) { row in
            try PartitionLease(subscription: subscription, partition: row[0], owner: row[1], token: row[2], expiresAt: SQLiteValues.date(row[3]))
        }
    }

    /// Throws ``StoreError/leaseLost(subscription:partition:)`` unless `fence` is still the
    /// partition's lease. (SQLite runs one write transaction at a time, so nothing can take
    /// the lease between this check and the commit.)
    static func check(_ fence: PartitionLease, _ db: Database) throws {
        let current = try Bool.fetchOne(
            db.cachedStatement(sql: """
                SELECT EXISTS (SELECT 1 FROM herald_leases WHERE subscription = ? AND partition = ? AND owner = ? AND token = ?)
                """),
            arguments: [fence.subscription, fence.partition, fence.owner, fence.token]) ?? false
        if !current { throw StoreError.leaseLost(subscription: fence.subscription, partition: fence.partition) }
    }
}
