import Foundation
import Herald
import Logging
import PostgresNIO

/// All SQL of `herald_leases` (who handles which partition, with which fencing token) and
/// `herald_nodes` (the live nodes sharing a subscription's partitions).
enum LeasesTable {
    static func heartbeat(group: String, node: String, now: Date, expiresAt: Date, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> [String] {
        try await connection.run("""
            INSERT INTO \(unescaped: names.nodes) (group_name, node, expires_at) VALUES (\(group), \(node), \(expiresAt))
            ON CONFLICT (group_name, node) DO UPDATE SET expires_at = excluded.expires_at
            """, logger)
        try await connection.run("DELETE FROM \(unescaped: names.nodes) WHERE group_name = \(group) AND expires_at <= \(now)", logger)
        let rows = try await connection.query(
            "SELECT node FROM \(unescaped: names.nodes) WHERE group_name = \(group) ORDER BY node", logger: logger)
        var nodes: [String] = []
        for try await node in rows.decode(String.self) { nodes.append(node) }
        return nodes
    }

    /// One upsert: a new lease gets token 1; a renewal by the owner of a lease unexpired at
    /// `now` keeps its token; taking over an expired lease adds one; else nothing changes.
    /// A commit fenced by the old token holds the row `FOR SHARE`, so a take-over waits for
    /// that commit to end and the new owner then reads the checkpoint it moved.
    static func acquire(subscription: String, partition: Int, owner: String, now: Date, expiresAt: Date, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> PartitionLease? {
        let rows = try await connection.query("""
            INSERT INTO \(unescaped: names.leases) AS lease (subscription, partition, owner, token, expires_at)
            VALUES (\(subscription), \(partition), \(owner), 1, \(expiresAt))
            ON CONFLICT (subscription, partition) DO UPDATE SET
                token = CASE WHEN lease.owner = excluded.owner AND lease.expires_at > \(now) THEN lease.token ELSE lease.token + 1 END,
                owner = excluded.owner, expires_at = excluded.expires_at
            WHERE lease.owner = excluded.owner OR lease.expires_at <= \(now)
            RETURNING lease.token
            """, logger: logger)
        for try await token in rows.decode(Int64.self) {
            return PartitionLease(subscription: subscription, partition: partition, owner: owner, token: token, expiresAt: expiresAt)
        }
        return nil
    }

    static func release(_ lease: PartitionLease, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws {
        try await connection.run("""
            UPDATE \(unescaped: names.leases) SET expires_at = 'epoch'
            WHERE subscription = \(lease.subscription) AND partition = \(lease.partition)
                AND owner = \(lease.owner) AND token = \(lease.token)
            """, logger)
    }

    static func leases(subscription: String, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> [PartitionLease] {
        let rows = try await connection.query("""
            SELECT partition, owner, token, expires_at FROM \(unescaped: names.leases)
            WHERE subscription = \(subscription) ORDER BY partition
            """, logger: logger)
        var leases: [PartitionLease] = []
        for try await (partition, owner, token, expiresAt) in rows.decode((Int, String, Int64, Date).self) {
            leases.append(PartitionLease(subscription: subscription, partition: partition, owner: owner, token: token, expiresAt: expiresAt))
        }
        return leases
    }

    /// Throws ``StoreError/leaseLost(subscription:partition:)`` unless `fence` is still the
    /// partition's lease, and holds the lease row until the transaction ends so no one can
    /// take the lease over in between.
    static func check(_ fence: PartitionLease, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws {
        let current = try await connection.count("""
            SELECT 1 FROM \(unescaped: names.leases)
            WHERE subscription = \(fence.subscription) AND partition = \(fence.partition)
                AND owner = \(fence.owner) AND token = \(fence.token)
            FOR SHARE
            """, logger)
        if current != 1 { throw StoreError.leaseLost(subscription: fence.subscription, partition: fence.partition) }
    }
}
