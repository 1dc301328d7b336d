import Herald
import HeraldTesting
import Testing

@Suite("In-memory store conformance")
struct InMemoryConformanceTests {
    @Test(arguments: EventStoreConformance.tests)
    func conformance(_ test: ConformanceTest) async throws {
        try await test.run { InMemoryEventStore() }
    }
}

@Suite("In-memory store: projections")
struct InMemoryProjectionConformanceTests {
    @Test(arguments: EventStoreConformance.projections)
    func conformance(_ test: ConformanceTest) async throws {
        try await test.run { InMemoryEventStore() }
    }
}

@Suite("In-memory store: retention")
struct InMemoryRetentionConformanceTests {
    @Test(arguments: EventStoreConformance.retention)
    func conformance(_ test: ConformanceTest) async throws {
        try await test.run { InMemoryEventStore() }
    }
}
