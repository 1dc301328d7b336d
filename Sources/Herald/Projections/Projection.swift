import Foundation

/// The read side: a subscription whose handler keeps query rows in tables of its own,
/// written in the same transaction that moves its checkpoint.
///
/// A projection's rows are therefore a fold of the log up to its checkpoint, after any
/// crash (each event's row changes commit exactly once, in stream order, with the usual
/// retries and dead letters). Herald creates its tables; ``HeraldEngine/rows(_:_:)`` reads
/// them through the store's read path; ``HeraldEngine/rebuild(_:progress:)`` fills fresh
/// tables from the start of the log while the current ones keep answering, then swaps them
/// in. Bumping ``version`` makes the service rebuild the projection into its new tables.
///
/// ```swift
/// let catalog = Projection(name: "catalog", version: 1, tables: [products], eventTypes: ["ProductListed"]) { delivery, rows in
///     let listed = try delivery.decode(ProductListed.self)
///     try rows.upsert("products", ["sku": .text(listed.sku), "title": .text(listed.title)])
/// }
/// let books = try await engine.rows(catalog, ProjectionQuery("products").where(.hasPrefix("sku", "book-")))
/// ```
public struct Projection: Sendable {
    public var name: String
    /// The tables' version: declare a new one when the tables or what the handler writes
    /// change, and the projection is rebuilt from the log into new tables.
    public var version: Int
    public var tables: [ProjectionTable]
    /// Event types to deliver; `nil` delivers all.
    public var eventTypes: Set<String>?
    public var retryPolicy: RetryPolicy
    public var batchSize: Int
    public var pollInterval: Duration
    public var wakeDelay: Duration = .zero
    /// Splits the serving generation's work by stream among the nodes, as for a
    /// subscription (see ``Partitioning``). Only for a projection whose rows each follow one
    /// stream, or whose writes to a shared row commute (an upsert of the same values): two
    /// partitions may otherwise read and replace one row at once, and one change is lost.
    /// A rebuild runs as one worker; the partitions take over where it ended.
    public var partitioning: Partitioning?
    public var handler: @Sendable (Delivery, ProjectionRows) async throws -> Void

    public init(
        name: String, version: Int, tables: [ProjectionTable], eventTypes: Set<String>? = nil,
        retryPolicy: RetryPolicy = .default, batchSize: Int = 256, pollInterval: Duration = .seconds(1),
        handler: @escaping @Sendable (Delivery, ProjectionRows) async throws -> Void
    ) {
        self.name = name
        self.version = version
        self.tables = tables
        self.eventTypes = eventTypes
        self.retryPolicy = retryPolicy
        self.batchSize = batchSize
        self.pollInterval = pollInterval
        self.handler = handler
    }

    public var schema: ProjectionSchema { ProjectionSchema(name: name, version: version, tables: tables) }

    /// - Throws: ``ConfigurationError`` naming the setting.
    public func validate() throws {
        try ProjectionNames.check(name, setting: "Projection.name")
        guard version >= 1 else { throw ConfigurationError(setting: "Projection.version (\(name))", value: "\(version)", allowed: "1 or more") }
        guard !tables.isEmpty else { throw ConfigurationError(setting: "Projection.tables (\(name))", value: "none", allowed: "at least one table") }
        var names = Set<String>()
        for table in tables {
            try table.validate(in: name)
            guard names.insert(table.name).inserted else {
                throw ConfigurationError(setting: "Projection.tables (\(name))", value: table.name, allowed: "each table name once")
            }
        }
        try subscription(for: ProjectionState.Generation(number: 1, version: version, tables: [:])).validate()
        try partitioning?.validate(subscription: name)
    }

    func table(_ name: String) throws -> ProjectionTable {
        guard let table = tables.first(where: { $0.name == name }) else { throw ProjectionError.unknownTable(projection: self.name, table: name) }
        return table
    }

    /// The subscription that fills `generation`'s tables: its own checkpoint, this
    /// projection's handler writing to those tables.
    func subscription(for generation: ProjectionState.Generation) -> Subscription {
        let projection = self
        var subscription = Subscription(
            name: schema.checkpointName(generation: generation.number), eventTypes: eventTypes, retryPolicy: retryPolicy,
            batchSize: batchSize, pollInterval: pollInterval,
            handler: .transactional { delivery, work in
                try await projection.handler(delivery, ProjectionRows(projection: projection, tables: generation.tables, work: work))
            })
        subscription.wakeDelay = wakeDelay
        return subscription
    }
}

/// What a projection's handler reads and writes: rows of the projection's own tables,
/// staged in the transaction that moves its checkpoint. Reads see what this batch staged.
public struct ProjectionRows {
    let projection: Projection
    /// Physical table names, by table name.
    let tables: [String: String]
    let work: UnitOfWork

    /// The row of `table` with this primary key, as this batch left it (or as stored).
    public func row(_ table: String, key: ProjectionValue...) async throws -> ProjectionRow? {
        let (declared, physical) = try resolve(table)
        let values = try keyValues(declared, key)
        return try await work.projectionRow(declared, physical: physical, key: values)
    }

    /// Inserts the row, or replaces the row with the same primary key. Every non-nullable
    /// column must be given; nullable ones left out are NULL.
    ///
    /// - Throws: ``ProjectionError`` naming a missing, unknown or mistyped column.
    public func upsert(_ table: String, _ values: [String: ProjectionValue]) throws {
        let (declared, physical) = try resolve(table)
        for name in values.keys where declared.column(name) == nil { throw ProjectionError.unknownColumn(table: table, column: name) }
        var row: [String: ProjectionValue] = [:]
        for column in declared.columns {
            let value = values[column.name] ?? .null
            guard values[column.name] != nil || column.nullable else { throw ProjectionError.missingColumn(table: table, column: column.name) }
            guard value.fits(column) else { throw ProjectionError.mismatchedValue(table: table, column: column.name, value: value) }
            row[column.name] = value
        }
        work.stageProjectionUpsert(declared, physical: physical, row: row)
    }

    /// Deletes the row with this primary key (nothing when there is none).
    public func delete(_ table: String, key: ProjectionValue...) throws {
        let (declared, physical) = try resolve(table)
        work.stageProjectionDelete(declared, physical: physical, key: try keyValues(declared, key))
    }

    private func resolve(_ table: String) throws -> (ProjectionTable, String) {
        let declared = try projection.table(table)
        guard let physical = tables[table] else { throw ProjectionError.unknownTable(projection: projection.name, table: table) }
        return (declared, physical)
    }

    private func keyValues(_ table: ProjectionTable, _ key: [ProjectionValue]) throws -> [ProjectionValue] {
        guard key.count == table.primaryKey.count else {
            throw ProjectionError.missingColumn(table: table.name, column: table.primaryKey.dropFirst(key.count).first ?? "key")
        }
        for (name, value) in zip(table.primaryKey, key) where !(table.column(name).map(value.fits) ?? false) || value == .null {
            throw ProjectionError.mismatchedValue(table: table.name, column: name, value: value)
        }
        return key
    }
}
