import Foundation
import Herald
import HeraldSQLite
import HeraldTesting
import Testing

@Suite("SQLite store conformance")
struct SQLiteConformanceTests {
    @Test(arguments: EventStoreConformance.tests)
    func conformance(_ test: ConformanceTest) async throws {
        let directory = try TemporaryDirectory()
        try await test.run { try SQLiteEventStore(path: directory.file("herald-\(UUID().uuidString).sqlite")) }
    }
}

@Suite("SQLite store: projections")
struct SQLiteProjectionConformanceTests {
    @Test(arguments: EventStoreConformance.projections)
    func conformance(_ test: ConformanceTest) async throws {
        let directory = try TemporaryDirectory()
        try await test.run { try SQLiteEventStore(path: directory.file("herald-\(UUID().uuidString).sqlite")) }
    }
}

@Suite("SQLite store: retention")
struct SQLiteRetentionConformanceTests {
    @Test(arguments: EventStoreConformance.retention)
    func conformance(_ test: ConformanceTest) async throws {
        let directory = try TemporaryDirectory()
        try await test.run { try SQLiteEventStore(path: directory.file("herald-\(UUID().uuidString).sqlite")) }
    }
}
