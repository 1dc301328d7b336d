import Foundation
import Herald
import Logging
import PostgresNIO

/// All SQL of projections: their state (`herald_projections`), the DDL of their tables, row
/// writes within a commit, and queries.
///
/// Table and column names are validated identifiers (``ProjectionTable``) and quoted; every
/// value is bound. Text is compared and ordered in the "C" collation (bytes), as SQLite and
/// the in-memory store do, whatever the database's own collation.
enum ProjectionsTable {
    // MARK: State

    static func state(_ name: String, lock: String = "", _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> ProjectionState? {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT serving_generation, serving_version, serving_tables, building_generation, building_version, building_tables
            FROM \(names.projections) WHERE name = $1 \(lock)
            """, binds: bindings([.text(name)])), logger: logger)
        for try await row in rows.decode((Int, Int, String, Int?, Int?, String?).self) {
            return try ProjectionState(name: name, serving: (row.0, row.1, row.2), building: (row.3, row.4, row.5))
        }
        return nil
    }

    /// The serving generation and the count of row-changing commits.
    static func version(_ name: String, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> ProjectionVersion? {
        let rows = try await connection.query(
            "SELECT serving_generation, rows_changed FROM \(unescaped: names.projections) WHERE name = \(name)", logger: logger)
        for try await (generation, changes) in rows.decode((Int, Int64).self) { return ProjectionVersion(generation: generation, changes: changes) }
        return nil
    }

    /// In a transaction: creates the projection (generation 1, serving) unless it exists.
    static func prepare(_ schema: ProjectionSchema, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> ProjectionState {
        let first = schema.generation(1)
        let inserted = try await connection.count("""
            INSERT INTO \(unescaped: names.projections) (name, serving_generation, serving_version, serving_tables)
            VALUES (\(schema.name), \(first.number), \(first.version), \(try first.tablesJSON()))
            ON CONFLICT (name) DO NOTHING RETURNING 1
            """, logger)
        if inserted == 1 { try await create(schema, first, names, connection, logger) }
        guard let state = try await state(schema.name, names, connection, logger) else { throw ProjectionError.unknownProjection(schema.name) }
        return state
    }

    /// In a transaction: the building generation of `schema.version`, begun unless under way.
    static func beginBuild(_ schema: ProjectionSchema, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> ProjectionState {
        guard var known = try await state(schema.name, lock: "FOR UPDATE", names, connection, logger) else {
            throw ProjectionError.unknownProjection(schema.name)
        }
        if let building = known.building {
            if building.version == schema.version { return known }
            try await drop(building, of: schema, names, connection, logger)  // a build of another version, abandoned
        }
        let building = schema.generation(known.nextGenerationNumber)
        try await create(schema, building, names, connection, logger)
        try await connection.run("""
            UPDATE \(unescaped: names.projections)
            SET building_generation = \(building.number), building_version = \(building.version), building_tables = \(try building.tablesJSON())
            WHERE name = \(schema.name)
            """, logger)
        known.building = building
        return known
    }

    /// In a transaction: the building generation serves; the one it replaces is dropped.
    static func completeBuild(_ schema: ProjectionSchema, generation: Int, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws {
        guard let known = try await state(schema.name, lock: "FOR UPDATE", names, connection, logger),
              let building = known.building, building.number == generation
        else { throw StoreError.projectionGenerationGone(projection: schema.name, generation: generation) }
        try await drop(known.serving, of: schema, names, connection, logger)
        try await connection.run("""
            UPDATE \(unescaped: names.projections)
            SET serving_generation = \(building.number), serving_version = \(building.version), serving_tables = \(try building.tablesJSON()),
                building_generation = NULL, building_version = NULL, building_tables = NULL
            WHERE name = \(schema.name)
            """, logger)
    }

    /// Fails the commit unless `fence`'s generation is serving or being built. The row lock
    /// keeps a build from completing, and dropping these tables, until the commit ends.
    ///
    /// A commit that changes the projection's rows (`counting`) counts one more change (see
    /// ``ProjectionVersion``) in the same statement, so its lock is exclusive from the
    /// start: two commits that each held the row shared and then wanted to update it would
    /// deadlock, as the partitions of one projection did. Such commits of one projection
    /// therefore follow each other; the others share the row.
    static func check(
        _ fence: ProjectionFence, counting: Bool, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger
    ) async throws {
        let generation = fence.generation
        let current = try await connection.count(counting ? """
            UPDATE \(unescaped: names.projections) SET rows_changed = rows_changed + 1
            WHERE name = \(fence.projection) AND (serving_generation = \(generation) OR building_generation = \(generation))
            RETURNING 1
            """ : """
            SELECT 1 FROM \(unescaped: names.projections)
            WHERE name = \(fence.projection) AND (serving_generation = \(generation) OR building_generation = \(generation))
            FOR SHARE
            """, logger)
        guard current == 1 else { throw StoreError.projectionGenerationGone(projection: fence.projection, generation: fence.generation) }
    }

    // MARK: DDL

    private static func create(
        _ schema: ProjectionSchema, _ generation: ProjectionState.Generation, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger
    ) async throws {
        for table in schema.tables {
            guard let physical = generation.tables[table.name] else { continue }
            // Text in the "C" collation (byte order, as SQLite and the in-memory store sort):
            // the primary key and every index then serve the queries' comparisons.
            var columns = table.storedColumns.map { column in
                "\"\(column.name)\" \(type(column.type))\(column.type == .text ? " COLLATE \"C\"" : "")\(column.nullable ? "" : " NOT NULL")"
            }
            if !table.fullText.isEmpty {
                // The documents' words as a tsvector, each column weighted by its rank, kept by
                // PostgreSQL itself in the statement that writes the row. 'simple': no stemming
                // and no stop words — the words are whole words, already folded (FullText).
                let vector = table.documentColumns.enumerated().map { index, column in
                    "setweight(to_tsvector('simple', \"\(column)\"), '\(FullTextWeights.postgres[index])')"
                }
                columns.append("\"\(fullTextColumn)\" tsvector GENERATED ALWAYS AS (\(vector.joined(separator: " || "))) STORED")
            }
            let key = table.primaryKey.map { "\"\($0)\"" }.joined(separator: ", ")
            try await connection.run(PostgresQuery(unsafeSQL: """
                CREATE TABLE IF NOT EXISTS \(names.projectionTable(physical)) (\(columns.joined(separator: ", ")), PRIMARY KEY (\(key)))
                """), logger)
            if !table.fullText.isEmpty {
                try await connection.run(PostgresQuery(unsafeSQL: """
                    CREATE INDEX IF NOT EXISTS "\(physical)_fts" ON \(names.projectionTable(physical)) USING gin ("\(fullTextColumn)")
                    """), logger)
            }
            for (number, index) in table.indexes.enumerated() {
                let list = index.map { "\"\($0)\"" }
                try await connection.run(PostgresQuery(unsafeSQL: """
                    CREATE INDEX IF NOT EXISTS "\(physical)_i\(number)" ON \(names.projectionTable(physical)) (\(list.joined(separator: ", ")))
                    """), logger)
            }
        }
    }

    /// Drops a generation's tables, its checkpoint (or its partitions' checkpoints, leases
    /// and nodes) and its parked events.
    private static func drop(
        _ generation: ProjectionState.Generation, of schema: ProjectionSchema, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger
    ) async throws {
        for physical in generation.tables.values {
            try await connection.run(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(names.projectionTable(physical))"), logger)
        }
        let checkpoint = schema.checkpointName(generation: generation.number), partitions = checkpoint + "#"
        try await connection.run(
            "DELETE FROM \(unescaped: names.subscriptions) WHERE name = \(checkpoint) OR starts_with(name, \(partitions))", logger)
        try await connection.run("DELETE FROM \(unescaped: names.parked) WHERE subscription = \(checkpoint)", logger)
        try await connection.run("DELETE FROM \(unescaped: names.leases) WHERE subscription = \(checkpoint)", logger)
        try await connection.run("DELETE FROM \(unescaped: names.nodes) WHERE group_name = \(checkpoint)", logger)
    }

    /// The generated column holding a full-text table's words as a `tsvector`.
    private static let fullTextColumn = "herald_fts"

    private static func type(_ type: ProjectionTable.ColumnType) -> String {
        switch type {
        case .integer: "bigint"
        case .real: "double precision"
        case .text: "text"
        case .blob: "bytea"
        }
    }

    // MARK: Rows

    static func apply(_ write: ProjectionWrite, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws {
        switch write {
        case .upsert(let table, let columns, let values, let key):
            let list = columns.map { "\"\($0)\"" }.joined(separator: ", ")
            let marks = (1...columns.count).map { "$\($0)" }.joined(separator: ", ")
            let updates = columns.filter { !key.contains($0) }.map { "\"\($0)\" = EXCLUDED.\"\($0)\"" }
            let conflict = updates.isEmpty ? "DO NOTHING" : "DO UPDATE SET \(updates.joined(separator: ", "))"
            try await connection.run(PostgresQuery(unsafeSQL: """
                INSERT INTO \(names.projectionTable(table)) (\(list)) VALUES (\(marks))
                ON CONFLICT (\(key.map { "\"\($0)\"" }.joined(separator: ", "))) \(conflict)
                """, binds: bindings(values)), logger)
        case .update(let table, let key, let keyValues, let columns, let values):
            let assignments = columns.enumerated().map { "\"\($1)\" = $\($0 + 1)" }.joined(separator: ", ")
            let condition = key.enumerated().map { "\"\($1)\" = $\($0 + columns.count + 1)" }.joined(separator: " AND ")
            try await connection.run(PostgresQuery(
                unsafeSQL: "UPDATE \(names.projectionTable(table)) SET \(assignments) WHERE \(condition)", binds: bindings(values + keyValues)), logger)
        case .delete(let table, let key, let values):
            let condition = key.enumerated().map { "\"\($1)\" = $\($0 + 1)" }.joined(separator: " AND ")
            try await connection.run(PostgresQuery(unsafeSQL: "DELETE FROM \(names.projectionTable(table)) WHERE \(condition)", binds: bindings(values)), logger)
        }
    }

    static func rows(
        _ table: ProjectionTable, physical: String, query: ProjectionQuery, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger
    ) async throws -> [ProjectionRow] {
        var arguments: [ProjectionValue] = []
        let conditions = whereClause(query.conditions, names, &arguments)
        var order = query.sortKeys(for: table).map { "\(quoted($0.column)) \($0.ascending ? "ASC" : "DESC")" }
        if query.byRelevance, let search = query.fullTextSearch, !search.findsNothing {
            arguments.append(.text(tsQuery(search)))
            order.insert("ts_rank(\(quoted(fullTextColumn)), to_tsquery('simple', $\(arguments.count))) DESC", at: 0)
        }
        var sql = "SELECT \(table.columns.map { "\"\($0.name)\"" }.joined(separator: ", ")) FROM \(names.projectionTable(physical))\(conditions)"
        sql += " ORDER BY \(order.joined(separator: ", "))"
        if let limit = query.limit {
            arguments.append(.integer(Int64(limit)))
            sql += " LIMIT $\(arguments.count)"
        }
        if query.offset > 0 {
            arguments.append(.integer(Int64(query.offset)))
            sql += " OFFSET $\(arguments.count)"
        }
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings(arguments)), logger: logger)
        var result: [ProjectionRow] = []
        for try await row in rows {
            let cells = row.makeRandomAccess()
            var values: [String: ProjectionValue] = [:]
            for (index, column) in table.columns.enumerated() { values[column.name] = try value(cells[index], column.type) }
            result.append(ProjectionRow(table: table.name, values: values))
        }
        return result
    }

    static func count(
        _ table: ProjectionTable, physical: String, query: ProjectionQuery, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger
    ) async throws -> Int {
        var arguments: [ProjectionValue] = []
        let conditions = whereClause(query.conditions, names, &arguments)
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(names.projectionTable(physical))\(conditions)", binds: bindings(arguments)), logger: logger)
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    private static func quoted(_ column: String) -> String { "\"\(column)\"" }

    private static func whereClause(_ conditions: [ProjectionQuery.Condition], _ names: PostgresNames, _ arguments: inout [ProjectionValue]) -> String {
        func bind(_ value: ProjectionValue) -> String {
            arguments.append(value)
            return "$\(arguments.count)"
        }
        var terms: [String] = []
        for condition in conditions {
            let term = switch condition {
            case .equals(let column, let value): "\(quoted(column)) = \(bind(value))"
            case .lessThan(let column, let value): "\(quoted(column)) < \(bind(value))"
            case .atMost(let column, let value): "\(quoted(column)) <= \(bind(value))"
            case .greaterThan(let column, let value): "\(quoted(column)) > \(bind(value))"
            case .atLeast(let column, let value): "\(quoted(column)) >= \(bind(value))"
            case .contains(let column, let text): "strpos(\"\(column)\", \(bind(.text(text)))) > 0"
            case .hasPrefix(let column, let text): "starts_with(\"\(column)\", \(bind(.text(text))))"
            case .oneOf(let column, let values):
                values.isEmpty ? "false" : "\(quoted(column)) IN (\(values.map(bind).joined(separator: ", ")))"
            case .inRows(let column, let table, let select, let inner):
                "\(quoted(column)) IN (SELECT \(quoted(select)) FROM \(names.projectionTable(table))\(whereClause(inner, names, &arguments)))"
            case .after(let columns, let values, let descending):
                "(\(columns.map(quoted).joined(separator: ", "))) \(descending ? "<" : ">") (\(values.map(bind).joined(separator: ", ")))"
            case .matches(let search):
                search.findsNothing ? "false" : "\(quoted(fullTextColumn)) @@ to_tsquery('simple', \(bind(.text(tsQuery(search)))))"
            }
            terms.append(term)
        }
        return terms.isEmpty ? "" : " WHERE " + terms.joined(separator: " AND ")
    }

    /// `to_tsquery`'s text for `search`: every term required, a prefix one as `word:*`. A
    /// term is letters and digits only (``FullText``): nothing in it is tsquery syntax.
    private static func tsQuery(_ search: FullTextSearch) -> String {
        search.terms.map { $0.word + ($0.prefix ? ":*" : "") }.joined(separator: " & ")
    }

    private static func bindings(_ values: [ProjectionValue]) -> PostgresBindings {
        var bindings = PostgresBindings()
        for value in values {
            switch value {
            case .null: bindings.appendNull()
            case .integer(let value): bindings.append(value)
            case .real(let value): bindings.append(value)
            case .text(let value): bindings.append(value)
            case .blob(let value): bindings.append(ByteBuffer(bytes: value))
            }
        }
        return bindings
    }

    private static func value(_ cell: PostgresCell, _ type: ProjectionTable.ColumnType) throws -> ProjectionValue {
        switch type {
        case .integer: try cell.decode(Int64?.self).map(ProjectionValue.integer) ?? .null
        case .real: try cell.decode(Double?.self).map(ProjectionValue.real) ?? .null
        case .text: try cell.decode(String?.self).map(ProjectionValue.text) ?? .null
        case .blob: try cell.decode(ByteBuffer?.self).map { .blob(Data($0.readableBytesView)) } ?? .null
        }
    }
}
