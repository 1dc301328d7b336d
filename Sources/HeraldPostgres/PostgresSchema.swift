import Herald
import Logging
import PostgresNIO

/// The qualified names of Herald's objects in one PostgreSQL schema.
///
/// Identifiers cannot be bound as parameters, so the schema name is validated once (see
/// ``PostgresEventStore/Options/schema``) and every SQL text is built from these names.
struct PostgresNames: Sendable {
    let schema: String

    var events: String { "\(schema).herald_events" }
    var aggregates: String { "\(schema).herald_aggregates" }
    var subscriptions: String { "\(schema).herald_subscriptions" }
    var parked: String { "\(schema).herald_parked" }
    var inbox: String { "\(schema).herald_inbox" }
    var scheduled: String { "\(schema).herald_scheduled" }
    var meta: String { "\(schema).herald_meta" }
    var leases: String { "\(schema).herald_leases" }
    var nodes: String { "\(schema).herald_nodes" }
    var projections: String { "\(schema).herald_projections" }
    /// A projection table (validated identifier) in this schema.
    func projectionTable(_ physical: String) -> String { "\(schema).\"\(physical)\"" }
    /// The LISTEN/NOTIFY channel announcing commits to this schema's log.
    var channel: String { "herald_\(schema)" }
}

/// The database schema and its migrations. Every table's DDL lives here; every table's
/// queries live in its `*Table` type beside this file.
enum PostgresSchema {
    /// The schema version this build creates and understands.
    static let currentVersion = 4

    /// Namespace of the advisory lock that serializes migrations of one schema by several
    /// nodes starting at once (the second key is the schema name's hash, so migrations of
    /// different schemas do not wait for each other).
    static let migrationLockNamespace: Int32 = 0x4845_524D  // "HERM"

    /// Brings the schema to ``currentVersion`` in one transaction.
    ///
    /// - Throws: ``StoreError/schemaTooNew(found:supported:)`` when a newer build created it.
    static func migrate(_ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws {
        try await connection.run("SELECT pg_advisory_xact_lock(\(migrationLockNamespace), hashtext(\(names.schema)))", logger)
        try await connection.run("CREATE SCHEMA IF NOT EXISTS \(unescaped: names.schema)", logger)
        try await connection.run(
            "CREATE TABLE IF NOT EXISTS \(unescaped: names.meta) (key text PRIMARY KEY, value text NOT NULL)", logger)
        let found = try await storedVersion(names, connection, logger)
        if found > currentVersion {
            throw StoreError.schemaTooNew(found: found, supported: currentVersion)
        }
        if found < 1 {
            for statement in version1(names) { try await connection.run(PostgresQuery(unsafeSQL: statement), logger) }
        }
        if found < 2 {
            for statement in version2(names) { try await connection.run(PostgresQuery(unsafeSQL: statement), logger) }
            try await backfillStreamHashes(names, connection, logger)
        }
        if found < 3 {
            for statement in version3(names) { try await connection.run(PostgresQuery(unsafeSQL: statement), logger) }
        }
        if found < 4 {
            for statement in version4(names) { try await connection.run(PostgresQuery(unsafeSQL: statement), logger) }
        }
        try await connection.run(PostgresQuery(unsafeSQL: CommitFunction.definition(names)), logger)
        try await connection.run("""
            INSERT INTO \(unescaped: names.meta) (key, value) VALUES ('schema_version', \(String(currentVersion)))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """, logger)
    }

    static func storedVersion(_ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> Int {
        let rows = try await connection.query(
            "SELECT value FROM \(unescaped: names.meta) WHERE key = 'schema_version'", logger: logger)
        for try await value in rows.decode(String.self) { return Int(value) ?? 0 }
        return 0
    }

    /// Version 1.
    ///
    /// `herald_events.tx_id` is the id of the transaction that appended the event. Readers
    /// order the log by `(tx_id, position)` and only read below the oldest transaction still
    /// running; see ``PostgresEventStore`` for why that never skips an event.
    private static func version1(_ n: PostgresNames) -> [String] {
        [
            """
            CREATE TABLE \(n.events) (
                position       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                tx_id          xid8        NOT NULL DEFAULT pg_current_xact_id(),
                event_id       uuid        NOT NULL UNIQUE,
                stream_type    text        NOT NULL,
                stream_id      text        NOT NULL,
                stream_version bigint      NOT NULL,
                event_type     text        NOT NULL,
                schema_version integer     NOT NULL,
                payload        bytea       NOT NULL,
                occurred_at    timestamptz NOT NULL,
                recorded_at    timestamptz NOT NULL,
                causation_id   uuid,
                correlation_id uuid,
                traceparent    text,
                metadata       jsonb,
                UNIQUE (stream_type, stream_id, stream_version)
            )
            """,
            "CREATE INDEX herald_events_delivery ON \(n.events) (tx_id, position)",
            """
            CREATE TABLE \(n.aggregates) (
                stream_type text        NOT NULL,
                stream_id   text        NOT NULL,
                version     bigint      NOT NULL,
                state       bytea       NOT NULL,
                updated_at  timestamptz NOT NULL,
                PRIMARY KEY (stream_type, stream_id)
            )
            """,
            """
            CREATE TABLE \(n.subscriptions) (
                name       text        PRIMARY KEY,
                position   bigint      NOT NULL,
                updated_at timestamptz NOT NULL
            )
            """,
            """
            CREATE TABLE \(n.parked) (
                subscription    text        NOT NULL,
                position        bigint      NOT NULL,
                event_id        uuid        NOT NULL,
                stream_type     text        NOT NULL,
                stream_id       text        NOT NULL,
                event_type      text        NOT NULL,
                status          text        NOT NULL CHECK (status IN ('retrying', 'dead', 'held')),
                attempts        integer     NOT NULL,
                next_attempt_at timestamptz,
                first_failed_at timestamptz,
                last_failed_at  timestamptz,
                last_error      text,
                PRIMARY KEY (subscription, position)
            )
            """,
            """
            CREATE TABLE \(n.inbox) (
                subscription text        NOT NULL,
                event_id     uuid        NOT NULL,
                processed_at timestamptz NOT NULL,
                PRIMARY KEY (subscription, event_id)
            )
            """,
            """
            CREATE TABLE \(n.scheduled) (
                key            text        PRIMARY KEY,
                due_at         timestamptz NOT NULL,
                event_id       uuid        NOT NULL,
                stream_type    text        NOT NULL,
                stream_id      text        NOT NULL,
                event_type     text        NOT NULL,
                schema_version integer     NOT NULL,
                payload        bytea       NOT NULL,
                occurred_at    timestamptz NOT NULL,
                causation_id   uuid,
                correlation_id uuid,
                traceparent    text,
                metadata       jsonb
            )
            """,
            "CREATE INDEX herald_scheduled_due ON \(n.scheduled) (due_at)",
        ]
    }
}

extension PostgresSchema {
    /// Version 2: each event's stream hash (a partitioned subscription reads only its
    /// partition's rows: `stream_hash % count = partition`), partition leases and the nodes
    /// that share them (see `Partitioning`).
    fileprivate static func version2(_ n: PostgresNames) -> [String] {
        [
            "ALTER TABLE \(n.events) ADD COLUMN stream_hash bigint NOT NULL DEFAULT 0",
            """
            CREATE TABLE \(n.leases) (
                subscription text        NOT NULL,
                partition    integer     NOT NULL,
                owner        text        NOT NULL,
                token        bigint      NOT NULL,
                expires_at   timestamptz NOT NULL,
                PRIMARY KEY (subscription, partition)
            )
            """,
            """
            CREATE TABLE \(n.nodes) (
                group_name text        NOT NULL,
                node       text        NOT NULL,
                expires_at timestamptz NOT NULL,
                PRIMARY KEY (group_name, node)
            )
            """,
        ]
    }
}

extension PostgresSchema {
    /// Version 3: projections (see `ProjectionStore`): which generation of each serves, and
    /// which is being built. Their tables are created as projections declare them.
    fileprivate static func version3(_ n: PostgresNames) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(n.projections) (
                name                text PRIMARY KEY,
                serving_generation  integer NOT NULL,
                serving_version     integer NOT NULL,
                serving_tables      text    NOT NULL,
                building_generation integer,
                building_version    integer,
                building_tables     text
            )
            """,
        ]
    }
}

extension PostgresSchema {
    /// Sets `stream_hash` on events appended before version 2. The hash is computed in Swift
    /// (`Partitioning.streamHash`), once per stream.
    fileprivate static func backfillStreamHashes(_ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws {
        let rows = try await connection.query("SELECT DISTINCT stream_type, stream_id FROM \(unescaped: names.events)", logger: logger)
        var streams: [StreamID] = []
        for try await (type, id) in rows.decode((String, String).self) { streams.append(StreamID(type: type, id: id)) }
        for stream in streams {
            try await connection.run("""
                UPDATE \(unescaped: names.events) SET stream_hash = \(Partitioning.streamHash(stream))
                WHERE stream_type = \(stream.type) AND stream_id = \(stream.id)
                """, logger)
        }
    }
}

extension PostgresConnection {
    /// Runs a statement and discards its rows.
    func run(_ query: PostgresQuery, _ logger: Logger) async throws {
        for try await _ in try await self.query(query, logger: logger) {}
    }

    /// Runs a statement and counts the rows it returned (for `RETURNING 1`).
    func count(_ query: PostgresQuery, _ logger: Logger) async throws -> Int {
        var rows = 0
        for try await _ in try await self.query(query, logger: logger) { rows += 1 }
        return rows
    }
}

extension PostgresSchema {
    /// Version 4: each projection counts the commits that changed its rows (its
    /// `ProjectionVersion`: readers keep what they derived while it holds).
    fileprivate static func version4(_ n: PostgresNames) -> [String] {
        ["ALTER TABLE \(n.projections) ADD COLUMN IF NOT EXISTS rows_changed bigint NOT NULL DEFAULT 0"]
    }
}
