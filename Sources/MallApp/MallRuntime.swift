import Herald
import HeraldPostgres
import HeraldSQLite
import Logging
import PostgresNIO

extension Mall {
    /// Opens the configured database — a SQLite file, or PostgreSQL for a `postgres://`
    /// URL — runs what the store needs in the background (PostgreSQL's pooled client and
    /// its LISTEN connection), migrates, and hands the application to `body`. Everything
    /// started here stops when `body` returns.
    ///
    /// Several processes may open one PostgreSQL database at once (migrations take an
    /// advisory lock; subscriptions commit checkpoints conditionally, so competing nodes
    /// never apply an effect twice).
    public static func withMall<Result: Sendable>(
        _ configuration: MallConfiguration, logger: Logger, _ body: @Sendable (Mall) async throws -> Result
    ) async throws -> Result {
        guard configuration.usesPostgres else {
            let store = try SQLiteEventStore(path: configuration.database)
            return try await body(Mall(engine: HeraldEngine(store: store, registry: .mall, logger: logger), configuration: configuration))
        }
        let client = PostgresClient(configuration: try PostgresEventStore.configuration(url: configuration.database), backgroundLogger: logger)
        let store = try PostgresEventStore(client: client, options: .init(schema: configuration.postgresSchema), logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            group.addTask { try await store.run() }
            defer { group.cancelAll() }
            try await store.migrate()
            return try await body(Mall(engine: HeraldEngine(store: store, registry: .mall, logger: logger), configuration: configuration))
        }
    }
}

extension MallConfiguration {
    /// Whether ``database`` names a PostgreSQL server rather than a SQLite file.
    public var usesPostgres: Bool { database.hasPrefix("postgres://") || database.hasPrefix("postgresql://") }
}
