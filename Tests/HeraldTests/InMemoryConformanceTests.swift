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
