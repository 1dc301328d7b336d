import GRDB
import Herald

/// The database schema and its migrations. Every table's DDL lives here; every table's
/// queries live in its `*Table` type beside this file.
enum SQLiteSchema {
    /// The schema version this build creates and understands.
    static let currentVersion = 4

    /// Brings the schema to ``currentVersion``.
    ///
    /// - Throws: ``StoreError/schemaTooNew(found:supported:)`` when a newer build created it.
    static func migrate(_ db: Database) throws {
        let found = try storedVersion(db)
        if found > currentVersion {
            throw StoreError.schemaTooNew(found: found, supported: currentVersion)
        }
        if found < 1 { try createVersion1(db) }
        if found < 2 { try createVersion2(db) }
        if found < 3 { try createVersion3(db) }
        if found < 4 { try createVersion4(db) }
        try db.execute(
            sql: "INSERT INTO herald_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            arguments: [String(currentVersion)])
    }

    static func storedVersion(_ db: Database) throws -> Int {
        guard try db.tableExists("herald_meta") else { return 0 }
        let value = try String.fetchOne(db, sql: "SELECT value FROM herald_meta WHERE key = 'schema_version'")
        return value.flatMap(Int.init) ?? 0
    }

    private static func createVersion1(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS herald_meta (
                key   TEXT PRIMARY KEY NOT NULL,
                value TEXT NOT NULL
            ) WITHOUT ROWID;

            -- The event log. No AUTOINCREMENT: it would dirty sqlite_sequence on every commit.
            -- Positions stay unique and increasing because the newest event is never deleted.
            CREATE TABLE herald_events (
                position       INTEGER PRIMARY KEY,
                event_id       BLOB    NOT NULL UNIQUE,
                stream_type    TEXT    NOT NULL,
                stream_id      TEXT    NOT NULL,
                stream_version INTEGER NOT NULL,
                event_type     TEXT    NOT NULL,
                schema_version INTEGER NOT NULL,
                payload        BLOB    NOT NULL,
                occurred_at    INTEGER NOT NULL, -- microseconds since 1970
                recorded_at    INTEGER NOT NULL,
                causation_id   BLOB,
                correlation_id BLOB,
                traceparent    TEXT,
                metadata       TEXT,             -- JSON object, NULL when empty
                UNIQUE (stream_type, stream_id, stream_version)
            );

            CREATE TABLE herald_aggregates (
                stream_type TEXT    NOT NULL,
                stream_id   TEXT    NOT NULL,
                version     INTEGER NOT NULL,
                state       BLOB    NOT NULL,
                updated_at  INTEGER NOT NULL,
                PRIMARY KEY (stream_type, stream_id)
            ) WITHOUT ROWID;

            CREATE TABLE herald_subscriptions (
                name       TEXT PRIMARY KEY NOT NULL,
                position   INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            ) WITHOUT ROWID;

            CREATE TABLE herald_parked (
                subscription    TEXT    NOT NULL,
                position        INTEGER NOT NULL,
                event_id        BLOB    NOT NULL,
                stream_type     TEXT    NOT NULL,
                stream_id       TEXT    NOT NULL,
                event_type      TEXT    NOT NULL,
                status          TEXT    NOT NULL CHECK (status IN ('retrying', 'dead', 'held')),
                attempts        INTEGER NOT NULL,
                next_attempt_at INTEGER,
                first_failed_at INTEGER,
                last_failed_at  INTEGER,
                last_error      TEXT,
                PRIMARY KEY (subscription, position)
            ) WITHOUT ROWID;

            CREATE TABLE herald_inbox (
                subscription TEXT    NOT NULL,
                event_id     BLOB    NOT NULL,
                processed_at INTEGER NOT NULL,
                PRIMARY KEY (subscription, event_id)
            ) WITHOUT ROWID;

            CREATE TABLE herald_scheduled (
                key            TEXT PRIMARY KEY NOT NULL,
                due_at         INTEGER NOT NULL,
                event_id       BLOB    NOT NULL,
                stream_type    TEXT    NOT NULL,
                stream_id      TEXT    NOT NULL,
                event_type     TEXT    NOT NULL,
                schema_version INTEGER NOT NULL,
                payload        BLOB    NOT NULL,
                occurred_at    INTEGER NOT NULL,
                causation_id   BLOB,
                correlation_id BLOB,
                traceparent    TEXT,
                metadata       TEXT
            ) WITHOUT ROWID;
            CREATE INDEX herald_scheduled_due ON herald_scheduled (due_at);
            """)
    }

    /// Version 2: partition leases and the nodes that share them (see ``Partitioning``).
    private static func createVersion2(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE herald_leases (
                subscription TEXT    NOT NULL,
                partition    INTEGER NOT NULL,
                owner        TEXT    NOT NULL,
                token        INTEGER NOT NULL,
                expires_at   INTEGER NOT NULL,
                PRIMARY KEY (subscription, partition)
            ) WITHOUT ROWID;

            CREATE TABLE herald_nodes (
                group_name TEXT    NOT NULL,
                node       TEXT    NOT NULL,
                expires_at INTEGER NOT NULL,
                PRIMARY KEY (group_name, node)
            ) WITHOUT ROWID;
            """)
    }

    /// Version 3: projections (see ``ProjectionStore``): which generation of each serves,
    /// and which is being built. Their tables are created as projections declare them.
    private static func createVersion3(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS herald_projections (
                name                TEXT PRIMARY KEY NOT NULL,
                serving_generation  INTEGER NOT NULL,
                serving_version     INTEGER NOT NULL,
                serving_tables      TEXT    NOT NULL, -- JSON object: table name → physical name
                building_generation INTEGER,
                building_version    INTEGER,
                building_tables     TEXT
            ) WITHOUT ROWID;
            """)
    }

    /// Version 4: each projection counts the commits that changed its rows (its
    /// `ProjectionVersion`: readers keep what they derived while it holds).
    private static func createVersion4(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE herald_projections ADD COLUMN rows_changed INTEGER NOT NULL DEFAULT 0")
    }
}
