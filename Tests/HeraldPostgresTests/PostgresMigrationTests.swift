import Foundation
import Herald
import HeraldPostgres
import HeraldTesting
import PostgresNIO
import Testing

@Suite("PostgreSQL schema migrations", .enabled(if: TestDatabase.enabled, "HERALD_SKIP_POSTGRES=1"))
struct PostgresMigrationTests {
    /// A database left by version 1 (no stream hashes, no lease or projection tables) is
    /// brought to the current version: its old events get their stream hashes, so
    /// partitioned reads find them.
    @Test func aVersion1SchemaIsMigratedAndItsEventsFallInTheirPartitions() async throws {
        let client = try TestDatabase.requireClient()
        let schema = TestDatabase.freshSchema()
        let store = try await TestDatabase.makeStore(client: client, schema: schema)
        let engine = HeraldEngine(store: store, logger: TestDatabase.logger)
        let work = engine.unitOfWork()
        for index in 0..<40 { try work.append(TestReminder(note: "\(index)"), to: StreamID(type: "Old", id: "s\(index % 10)")) }
        let appended = try await work.commit()
        for statement in [
            "DROP TABLE \(schema).herald_leases", "DROP TABLE \(schema).herald_nodes",
            "DROP TABLE \(schema).herald_projections",
            "ALTER TABLE \(schema).herald_events DROP COLUMN stream_hash",
            "UPDATE \(schema).herald_meta SET value = '1' WHERE key = 'schema_version'",
        ] {
            try await client.query(PostgresQuery(unsafeSQL: statement), logger: TestDatabase.logger)
        }
        #expect(try await store.schemaVersion() == 1)

        try await store.migrate()
        #expect(try await store.schemaVersion() == 4)
        for partition in 0..<3 {
            let read = try await store.events(after: 0, limit: 100, matching: EventFilter(partition: partition, partitionCount: 3))
            let expected = appended.filter { Partitioning.partition(of: $0.stream, count: 3) == partition }
            #expect(read.events.map(\.eventID) == expected.map(\.eventID), "partition \(partition) holds its old events")
        }
        let now = Date()
        let lease = try await store.acquireLease(subscription: "s", partition: 0, owner: "a", now: now, expiresAt: now.addingTimeInterval(5))
        #expect(lease?.token == 1, "the lease table exists")
    }
}
