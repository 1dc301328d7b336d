import Foundation
import Herald
import HeraldPostgres
import Logging
import PostgresNIO
import Testing

/// The PostgreSQL server the tests use: `HERALD_POSTGRES_URL`, as set by `scripts/postgres.sh`.
///
/// Without it the tests fail, saying how to get one, unless `HERALD_SKIP_POSTGRES=1` says
/// to skip them. Each store gets its own new schema, so tests never see each other's rows.
enum TestDatabase {
    static let url = ProcessInfo.processInfo.environment["HERALD_POSTGRES_URL"]
    static let skipped = ProcessInfo.processInfo.environment["HERALD_SKIP_POSTGRES"] == "1"
    /// For `.enabled(if:)`: run unless skipping was asked for explicitly.
    static let enabled = !skipped

    static let logger = Logger(label: "herald-postgres-tests", factory: { _ in SwiftLogNoOpLogHandler() })

    /// One client for the whole test process, running in the background.
    static let client: PostgresClient? = {
        guard let url, var configuration = try? PostgresEventStore.configuration(url: url) else { return nil }
        configuration.options.maximumConnections = 40
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        Task.detached { await client.run() }
        return client
    }()

    static func requireClient() throws -> PostgresClient {
        guard let client else {
            throw MissingServer(
                description: "HERALD_POSTGRES_URL is not set (or not a postgres:// URL). Run the tests through "
                    + "scripts/test.sh, or `scripts/postgres.sh -- swift test`; set HERALD_SKIP_POSTGRES=1 to skip them.")
        }
        return client
    }

    struct MissingServer: Error, CustomStringConvertible { let description: String }

    /// A migrated store in a fresh schema.
    ///
    /// Its reads wait up to 10 s (not the default 0.5 s) for older transactions anywhere on
    /// the server: the horizon is server-wide, and with every suite running at once on two
    /// cores some transaction is often slower than that, so a check reading right after its
    /// own commit would see nothing yet.
    ///
    /// Its operations may take up to 120 s before they count as an outage: a hang guard, not
    /// a speed claim. With every suite at once on two cores (and the child processes of the
    /// process tests), an operation of the conformance suite has waited past 30 s for its
    /// turn.
    static func makeStore(
        client: PostgresClient? = nil, schema: String = freshSchema(), operationTimeout: Duration = .seconds(120)
    ) async throws -> PostgresEventStore {
        let options = PostgresEventStore.Options(schema: schema, horizonWait: .seconds(10), operationTimeout: operationTimeout)
        let store = try PostgresEventStore(client: try client ?? requireClient(), options: options, logger: logger)
        try await store.migrate()
        return store
    }

    static func freshSchema() -> String {
        "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
    }
}
