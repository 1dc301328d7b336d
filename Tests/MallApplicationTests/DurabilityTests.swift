import Foundation
import Herald
import HeraldSQLite
import Logging
@_spi(Operations) import MallApplication
import MallComposition
import MallOperations
import Testing

/// `--durability` is the SQLite writer's `synchronous` mode, read back from SQLite itself.
@Suite struct DurabilityTests {
    @Test(arguments: [(MallConfiguration.Durability.full, 2), (.normal, 1)])
    func theDurabilitySettingIsTheWritersSynchronousMode(_ durability: MallConfiguration.Durability, _ expected: Int) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("durability-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        var configuration = MallConfiguration()
        configuration.database = path
        configuration.durability = durability
        let setting = try await Mall.withMall(configuration, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })) { mall in
            try #require(mall.engine.store as? SQLiteEventStore).synchronousSetting()
        }
        #expect(setting == expected)
    }

    @Test func theEnvironmentChoosesItAndAWrongValueIsNamed() throws {
        #expect(try MallConfiguration.fromEnvironment(["MALL_DURABILITY": "full"]).durability == .full)
        #expect(try MallConfiguration.fromEnvironment([:]).durability == .full, "acknowledged means on disk unless the operator says otherwise")
        #expect(throws: ConfigurationError(setting: "MALL_DURABILITY", value: "sometimes", allowed: "one of full, normal")) {
            try MallConfiguration.fromEnvironment(["MALL_DURABILITY": "sometimes"])
        }
    }
}
