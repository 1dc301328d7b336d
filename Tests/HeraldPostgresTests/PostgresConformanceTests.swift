import Herald
import HeraldPostgres
import HeraldTesting
import Testing

@Suite("PostgreSQL store conformance", .enabled(if: TestDatabase.enabled, "HERALD_SKIP_POSTGRES=1"))
struct PostgresConformanceTests {
    @Test(arguments: EventStoreConformance.tests)
    func conformance(_ test: ConformanceTest) async throws {
        try await test.run { try await TestDatabase.makeStore() }
    }
}

@Suite("PostgreSQL store: projections", .enabled(if: TestDatabase.enabled, "HERALD_SKIP_POSTGRES=1"))
struct PostgresProjectionConformanceTests {
    @Test(arguments: EventStoreConformance.projections)
    func conformance(_ test: ConformanceTest) async throws {
        try await test.run { try await TestDatabase.makeStore() }
    }
}

@Suite("PostgreSQL store: retention", .enabled(if: TestDatabase.enabled, "HERALD_SKIP_POSTGRES=1"))
struct PostgresRetentionConformanceTests {
    @Test(arguments: EventStoreConformance.retention)
    func conformance(_ test: ConformanceTest) async throws {
        try await test.run { try await TestDatabase.makeStore() }
    }
}
