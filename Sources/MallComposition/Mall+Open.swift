import Foundation
import Herald
@_spi(Operations) import MallApplication
import HeraldPostgres
import HeraldSQLite
import Logging
import MallGateway
import MallPayment
import PostgresNIO
import ServiceLifecycle

extension Mall {
    /// Opens the configured database — a SQLite file, or PostgreSQL for a `postgres://`
    /// URL — runs what the store needs in the background (PostgreSQL's pooled client and
    /// its LISTEN connection), migrates, and hands the application to `body`. Everything
    /// started here stops when `body` returns. For the commands that do one thing and end;
    /// `mall serve` runs the same in its service group (``MallNode``).
    ///
    /// Several processes may open one PostgreSQL database at once (migrations take an
    /// advisory lock; subscriptions commit checkpoints conditionally, so competing nodes
    /// never apply an effect twice).
    /// `gateway`: the payment gateway (by default, as ``Mall/init(engine:configuration:gateway:)``'s).
    public static func withMall<Result: Sendable>(
        _ configuration: MallConfiguration, logger: Logger, gateway: any PaymentGateway = FakeGateway.silent(),
        _ body: @Sendable (Mall) async throws -> Result
    ) async throws -> Result {
        let opened = try OpenedStore(configuration, logger: logger)
        let mall = opened.mall(configuration, logger: logger, gateway: gateway)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for service in opened.services { group.addTask { try await service.run() } }
            defer { group.cancelAll() }
            try await opened.migrate()
            try await mall.prepareProjections()
            return try await body(mall)
        }
    }
}

/// The configured store, opened but not yet migrated, with the services it needs running
/// (PostgreSQL's pooled client and its listening connection; none for SQLite).
struct OpenedStore: Sendable {
    let store: any EventStore
    let services: [any Service]
    let migrate: @Sendable () async throws -> Void
    let writeGroups: (@Sendable () -> (transactions: Int, writes: Int))?

    init(_ configuration: MallConfiguration, logger: Logger) throws {
        guard configuration.usesPostgres else {
            let synchronous: SQLiteEventStore.Options.Synchronous = configuration.durability == .full ? .full : .normal
            restrictToOwner(configuration.database, logger: logger)
            let sqlite = try SQLiteEventStore(
                path: configuration.database,
                options: .init(synchronous: synchronous, readMemoryMap: configuration.sqliteMemoryMapMiB * 1024 * 1024))
            store = sqlite
            services = []
            migrate = {}  // the store migrates as it opens
            writeGroups = { (sqlite.writeGroups.transactions, sqlite.writeGroups.writes) }
            return
        }
        let client = PostgresClient(configuration: try PostgresEventStore.configuration(url: configuration.database), backgroundLogger: logger)
        let options = PostgresEventStore.Options(schema: configuration.postgresSchema, operationTimeout: configuration.postgresOperationTimeout)
        let postgres = try PostgresEventStore(client: client, options: options, logger: logger)
        store = postgres
        services = [client, postgres]
        migrate = { try await postgres.migrate() }
        writeGroups = nil
    }

    /// The shop on this store.
    func mall(_ configuration: MallConfiguration, logger: Logger, gateway: any PaymentGateway) -> Mall {
        var mall = Mall(store: store, configuration: configuration, logger: logger, gateway: gateway)
        mall.writeGroups = writeGroups
        return mall
    }
}

/// Takes group and other access away from an existing SQLite file and its `-wal` and `-shm`
/// (a file of an earlier version, created 0644): the database holds the gateway secret and
/// the admin token's digest, so any local user who could read it could forge callbacks. A
/// new file is created owner-only by the store itself.
func restrictToOwner(_ path: String, logger: Logger) {
    for file in [path, path + "-wal", path + "-shm"] {
        var status = stat()
        guard stat(file, &status) == 0, status.st_mode & 0o077 != 0 else { continue }
        let before = String(status.st_mode & 0o777, radix: 8)
        if chmod(file, status.st_mode & 0o700) == 0 {
            logger.warning("\(file) was readable by other users (mode \(before)); it is now owner-only (600)")
        } else {
            logger.error("\(file) is readable by other users (mode \(before)) and could not be changed: \(String(cString: strerror(errno)))")
        }
    }
}

extension Mall {
    /// A shop on `store`, with a metrics registry its engine counts into unless
    /// ``MallConfiguration/metrics`` is off, and a tracer unless ``MallConfiguration/tracing`` is.
    init(store: any EventStore, configuration: MallConfiguration, logger: Logger, gateway: any PaymentGateway) {
        let metrics = configuration.metrics ? MallMetrics() : nil
        let tracer = configuration.tracing ? W3CTracer(ring: SpanRing(capacity: configuration.tracedSpans)) : nil
        let engine = HeraldEngine(
            store: store, registry: .mall, logger: logger, metrics: metrics?.factory, tracer: tracer.map(HeraldTracing.init))
        self.init(engine: engine, configuration: configuration, gateway: gateway, metrics: metrics, tracer: tracer)
    }
}
