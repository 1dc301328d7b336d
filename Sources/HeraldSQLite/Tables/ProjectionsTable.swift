import Foundation
import GRDB
import GRDBSQLite
import Herald

/// All SQL of projections: their state (`herald_projections`), the DDL of their tables, row
/// writes within a commit, and queries.
///
/// Table and column names are validated identifiers (``ProjectionTable``) and quoted; every
/// value is bound.
enum ProjectionsTable {
    // MARK: State

    private static let stateSQL = """
        SELECT serving_generation, serving_version, serving_tables, building_generation, building_version, building_tables
        FROM herald_projections WHERE name = ?
        """

    /// On the writer, within its transaction.
    static func state(_ name: String, _ db: Database) throws -> ProjectionState? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: stateSQL), arguments: [name]) else { return nil }
        return try ProjectionState(name: name, serving: (row[0], row[1], row[2]), building: (row[3], row[4], row[5]))
    }

    /// On a read connection.
    static func state(_ name: String, _ connection: ReadConnection) throws -> ProjectionState? {
        try connection.row(stateSQL, [name]) { row in
            try ProjectionState(name: name, serving: (try row[0], try row[1], try row[2]), building: (try row[3], try row[4], try row[5]))
        }
    }

    /// On a read connection: the serving generation and the count of row-changing commits.
    static func version(_ name: String, _ connection: ReadConnection) throws -> ProjectionVersion? {
        try connection.row("SELECT serving_generation, rows_changed FROM herald_projections WHERE name = ?", [name]) { row in
            ProjectionVersion(generation: try row[0], changes: try row[1])
        }
    }

    /// In the commit that changes the projection's rows: one more change (see ``ProjectionVersion``).
    static func countChange(of projection: String, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE herald_projections SET rows_changed = rows_changed + 1 WHERE name = ?").execute(arguments: [projection])
    }

    static func prepare(_ schema: ProjectionSchema, _ db: Database) throws -> ProjectionState {
        if let known = try state(schema.name, db) { return known }
        let first = schema.generation(1)
        try create(schema, first, db)
        try db.execute(sql: """
            INSERT INTO herald_projections (name, serving_generation, serving_version, serving_tables) VALUES (?, ?, ?, ?)
            """, arguments: [schema.name, first.number, first.version, try first.tablesJSON()])
        return ProjectionState(name: schema.name, serving: first, building: nil)
    }

    static func beginBuild(_ schema: ProjectionSchema, _ db: Database) throws -> ProjectionState {
        guard var known = try state(schema.name, db) else { throw ProjectionError.unknownProjection(schema.name) }
        if let building = known.building {
            if building.version == schema.version { return known }
            try drop(building, of: schema, db)  // a build of another version, abandoned
        }
        let building = schema.generation(known.nextGenerationNumber)
        try create(schema, building, db)
        try db.execute(sql: """
            UPDATE herald_projections SET building_generation = ?, building_version = ?, building_tables = ? WHERE name = ?
            """, arguments: [building.number, building.version, try building.tablesJSON(), schema.name])
        known.building = building
        return known
    }

    static func completeBuild(_ schema: ProjectionSchema, generation: Int, _ db: Database) throws {
        guard let known = try state(schema.name, db), let building = known.building, building.number == generation else {
            throw StoreError.projectionGenerationGone(projection: schema.name, generation: generation)
        }
        try drop(known.serving, of: schema, db)
        try db.execute(sql: """
            UPDATE herald_projections SET serving_generation = ?, serving_version = ?, serving_tables = ?,
                building_generation = NULL, building_version = NULL, building_tables = NULL
            WHERE name = ?
            """, arguments: [building.number, building.version, try building.tablesJSON(), schema.name])
    }

    /// Fails the commit unless `fence`'s generation is serving or being built.
    ///
    /// Every commit of a projection runs it: the statement is kept prepared (preparing it
    /// each time was 5% of the server's instructions per order in Mall, callgrind).
    static func check(_ fence: ProjectionFence, _ db: Database) throws {
        let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT serving_generation, building_generation FROM herald_projections WHERE name = ?"),
            arguments: [fence.projection])
        guard let row, row[0] as Int == fence.generation || row[1] as Int? == fence.generation else {
            throw StoreError.projectionGenerationGone(projection: fence.projection, generation: fence.generation)
        }
    }

    // MARK: DDL

    private static func create(_ schema: ProjectionSchema, _ generation: ProjectionState.Generation, _ db: Database) throws {
        for table in schema.tables {
            guard let physical = generation.tables[table.name] else { continue }
            let columns = table.storedColumns.map { column in
                "\"\(column.name)\" \(type(column.type))\(column.nullable ? "" : " NOT NULL")"
            }
            let key = table.primaryKey.map { "\"\($0)\"" }.joined(separator: ", ")
            // A table that is all key (an index of its own, like a word list) is stored as
            // one B-tree instead of a table and its key's index.
            let allKey = table.storedColumns.allSatisfy { table.primaryKey.contains($0.name) }
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS "\(physical)" (\(columns.joined(separator: ", ")), PRIMARY KEY (\(key)))\(allKey ? " WITHOUT ROWID" : "")
                """)
            for (number, index) in table.indexes.enumerated() {
                let list = index.map { "\"\($0)\"" }.joined(separator: ", ")
                try db.execute(sql: "CREATE INDEX IF NOT EXISTS \"\(physical)_i\(number)\" ON \"\(physical)\" (\(list))")
            }
            if !table.fullText.isEmpty { try createFullText(table, physical: physical, db) }
        }
    }

    /// The FTS5 index of a table's full-text documents: an external-content table over the
    /// table's rows (it stores the index, not the text again), kept by triggers in the
    /// statement that writes a row, so a commit changes both or neither. Its tokenizer folds
    /// case and accents as ``FullText`` did (the documents are already folded; the queries'
    /// words pass through it too). An update that leaves the documents alone leaves the
    /// index alone. Words' first two and three letters are indexed too, for prefix searches
    /// (a type-ahead's `tea*` reads one list instead of merging every word's it begins:
    /// two to four times faster at 10,000 products).
    private static func createFullText(_ table: ProjectionTable, physical: String, _ db: Database) throws {
        let index = fullTextTable(physical)
        let documents = table.documentColumns.map { "\"\($0)\"" }
        let list = documents.joined(separator: ", ")
        let new = documents.map { "new.\($0)" }.joined(separator: ", "), old = documents.map { "old.\($0)" }.joined(separator: ", ")
        let remove = "INSERT INTO \"\(index)\" (\"\(index)\", rowid, \(list)) VALUES ('delete', old.rowid, \(old));"
        let add = "INSERT INTO \"\(index)\" (rowid, \(list)) VALUES (new.rowid, \(new));"
        try db.execute(sql: """
            CREATE VIRTUAL TABLE IF NOT EXISTS "\(index)" USING fts5(\(list), content = '\(physical)', content_rowid = 'rowid',
                tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
            CREATE TRIGGER IF NOT EXISTS "\(index)_insert" AFTER INSERT ON "\(physical)" BEGIN \(add) END;
            CREATE TRIGGER IF NOT EXISTS "\(index)_delete" AFTER DELETE ON "\(physical)" BEGIN \(remove) END;
            CREATE TRIGGER IF NOT EXISTS "\(index)_update" AFTER UPDATE OF \(list) ON "\(physical)" BEGIN \(remove) \(add) END;
            """)
    }

    /// The FTS5 table indexing `physical`'s full-text documents.
    private static func fullTextTable(_ physical: String) -> String { physical + "_fts" }

    /// Drops a generation's tables, its checkpoint (or its partitions' checkpoints, leases
    /// and nodes) and its parked events.
    private static func drop(_ generation: ProjectionState.Generation, of schema: ProjectionSchema, _ db: Database) throws {
        for physical in generation.tables.values {
            try db.execute(sql: "DROP TABLE IF EXISTS \"\(fullTextTable(physical))\"")
            try db.execute(sql: "DROP TABLE IF EXISTS \"\(physical)\"")  // and its triggers
        }
        let checkpoint = schema.checkpointName(generation: generation.number), partitions = checkpoint + "#"
        try db.execute(
            sql: "DELETE FROM herald_subscriptions WHERE name = ? OR substr(name, 1, ?) = ?",
            arguments: [checkpoint, partitions.count, partitions])
        try db.execute(sql: "DELETE FROM herald_parked WHERE subscription = ?", arguments: [checkpoint])
        try db.execute(sql: "DELETE FROM herald_leases WHERE subscription = ?", arguments: [checkpoint])
        try db.execute(sql: "DELETE FROM herald_nodes WHERE group_name = ?", arguments: [checkpoint])
    }

    private static func type(_ type: ProjectionTable.ColumnType) -> String {
        switch type {
        case .integer: "INTEGER"
        case .real: "REAL"
        case .text: "TEXT"
        case .blob: "BLOB"
        }
    }

    // MARK: Rows

    static func apply(_ write: ProjectionWrite, _ db: Database) throws {
        switch write {
        case .upsert(let table, let columns, let values, let key):
            // An update in place, not OR REPLACE: a replaced row gets a new rowid and its
            // delete would fire no trigger, leaving a full-text index pointing at nothing.
            let names = columns.map { "\"\($0)\"" }.joined(separator: ", ")
            let marks = Array(repeating: "?", count: columns.count).joined(separator: ", ")
            let updates = columns.filter { !key.contains($0) }.map { "\"\($0)\" = excluded.\"\($0)\"" }
            let conflict = updates.isEmpty ? "DO NOTHING" : "DO UPDATE SET \(updates.joined(separator: ", "))"
            try db.cachedStatement(sql: """
                INSERT INTO "\(table)" (\(names)) VALUES (\(marks)) ON CONFLICT (\(key.map { "\"\($0)\"" }.joined(separator: ", "))) \(conflict)
                """).execute(arguments: StatementArguments(values.map(\.databaseValue)))
        case .update(let table, let key, let keyValues, let columns, let values):
            let assignments = columns.map { "\"\($0)\" = ?" }.joined(separator: ", ")
            let condition = key.map { "\"\($0)\" = ?" }.joined(separator: " AND ")
            try db.cachedStatement(sql: "UPDATE \"\(table)\" SET \(assignments) WHERE \(condition)")
                .execute(arguments: StatementArguments((values + keyValues).map(\.databaseValue)))
        case .delete(let table, let key, let values):
            let condition = key.map { "\"\($0)\" = ?" }.joined(separator: " AND ")
            try db.cachedStatement(sql: "DELETE FROM \"\(table)\" WHERE \(condition)").execute(arguments: StatementArguments(values.map(\.databaseValue)))
        }
    }

    static func rows(_ table: ProjectionTable, physical: String, query: ProjectionQuery, _ connection: ReadConnection) throws -> [ProjectionRow] {
        let (source, arguments) = source(physical, query)
        var order = query.sortKeys(for: table).map { "\"\(physical)\".\"\($0.column)\" \($0.ascending ? "ASC" : "DESC")" }
        if query.byRelevance {
            // bm25: lower is better; each document column weighs by its rank.
            let weights = table.fullText.indices.map { String(FullTextWeights.sqlite[$0]) }
            order.insert("bm25(\"\(fullTextTable(physical))\", \(weights.joined(separator: ", ")))", at: 0)
        }
        var sql = "SELECT \(table.columns.map { "\"\(physical)\".\"\($0.name)\"" }.joined(separator: ", ")) FROM \(source)"
        sql += " ORDER BY \(order.joined(separator: ", "))"
        var all = arguments
        if query.limit != nil || query.offset > 0 {
            sql += " LIMIT ? OFFSET ?"
            all += [ProjectionValue.integer(Int64(query.limit ?? -1)), .integer(Int64(query.offset))]
        }
        let names = table.columns.map(\.name)
        return try connection.rows(sql, all) { row in
            var values: [String: ProjectionValue] = [:]
            for (index, name) in names.enumerated() { values[name] = try row[Int32(index)] as ProjectionValue }
            return ProjectionRow(table: table.name, values: values)
        }
    }

    static func count(_ table: ProjectionTable, physical: String, query: ProjectionQuery, _ connection: ReadConnection) throws -> Int {
        let (source, arguments) = source(physical, query)
        return try connection.row("SELECT COUNT(*) FROM \(source)", arguments) { row -> Int in try row[0] } ?? 0
    }

    /// What a query reads: its table and conditions, or, when it has an
    /// ``ProjectionQuery/Condition/inRows(_:table:select:where:)`` condition, the other
    /// table's rows first (forced by a CROSS JOIN) and the table's rows looked up by them.
    /// Left to itself, SQLite walks the table in the page's order and checks each row
    /// against the other table's rows: the whole of a 100,000-product listing for a word
    /// that 600 products have.
    ///
    /// A full-text search reads the FTS5 index first and looks up the rows it finds (forced
    /// by a CROSS JOIN: left to itself, SQLite walks the table by an index that serves the
    /// other conditions or the order and asks FTS5 about each row — 0.9 s for a count at
    /// 10,000 products instead of 0.6 ms).
    private static func source(_ physical: String, _ query: ProjectionQuery) -> (String, [ProjectionValue]) {
        var conditions = query.conditions
        var from = "\"\(physical)\""
        var arguments: [ProjectionValue] = []
        if let search = query.fullTextSearch {
            conditions.removeAll { if case .matches = $0 { true } else { false } }
            let index = fullTextTable(physical)
            let (clause, rest) = whereClause(conditions)
            guard !search.findsNothing else { return (from + " WHERE 0", []) }
            from = "\"\(index)\" CROSS JOIN \"\(physical)\" ON \"\(physical)\".rowid = \"\(index)\".rowid"
            let match = "\"\(index)\" MATCH ?"
            return (from + (clause.isEmpty ? " WHERE \(match)" : clause + " AND \(match)"), rest + [.text(ftsQuery(search))])
        }
        if let first = conditions.firstIndex(where: { if case .inRows = $0 { true } else { false } }),
           case .inRows(let column, let table, let select, let inner) = conditions.remove(at: first) {
            let (clause, innerArguments) = whereClause(inner)
            from = """
                (SELECT DISTINCT "\(select)" AS herald_key FROM "\(table)"\(clause)) AS herald_driver \
                CROSS JOIN "\(physical)" ON "\(column)" = herald_driver.herald_key
                """
            arguments = innerArguments
        }
        let (clause, rest) = whereClause(conditions)
        return (from + clause, arguments + rest)
    }

    private static func whereClause(_ conditions: [ProjectionQuery.Condition]) -> (String, [ProjectionValue]) {
        var terms: [String] = []
        var arguments: [ProjectionValue] = []
        for condition in conditions {
            switch condition {
            case .equals(let column, let value): terms.append("\"\(column)\" = ?"); arguments.append(value)
            case .lessThan(let column, let value): terms.append("\"\(column)\" < ?"); arguments.append(value)
            case .atMost(let column, let value): terms.append("\"\(column)\" <= ?"); arguments.append(value)
            case .greaterThan(let column, let value): terms.append("\"\(column)\" > ?"); arguments.append(value)
            case .atLeast(let column, let value): terms.append("\"\(column)\" >= ?"); arguments.append(value)
            case .contains(let column, let text): terms.append("instr(\"\(column)\", ?) > 0"); arguments.append(.text(text))
            case .hasPrefix(let column, let text):
                // substr counts characters: the prefix's length in Unicode scalars.
                terms.append("substr(\"\(column)\", 1, ?) = ?")
                arguments += [.integer(Int64(text.unicodeScalars.count)), .text(text)]
            case .oneOf(let column, let values):
                // The list padded (repeating its last value) to a power of two: a few
                // statement shapes, kept prepared, serve every length.
                let length = values.isEmpty ? 0 : 1 << (Int.bitWidth - (values.count - 1).leadingZeroBitCount)
                terms.append(values.isEmpty ? "0" : "\"\(column)\" IN (\(Array(repeating: "?", count: length).joined(separator: ", ")))")
                arguments += values + Array(repeating: values.last ?? .null, count: length - values.count)
            case .inRows(let column, let table, let select, let inner):
                let (clause, innerArguments) = whereClause(inner)
                terms.append("\"\(column)\" IN (SELECT \"\(select)\" FROM \"\(table)\"\(clause))")
                arguments += innerArguments
            case .after(let columns, let values, let descending):
                let list = columns.map { "\"\($0)\"" }.joined(separator: ", ")
                terms.append("(\(list)) \(descending ? "<" : ">") (\(Array(repeating: "?", count: values.count).joined(separator: ", ")))")
                arguments += values
            case .matches:
                break  // read through the index (`source`)
            }
        }
        return (terms.isEmpty ? "" : " WHERE " + terms.joined(separator: " AND "), arguments)
    }

    /// FTS5's query for `search`: each term a quoted string (a prefix one followed by `*`),
    /// all of them required. A term is letters and digits only (``FullText``), so quoting
    /// is all it needs.
    private static func ftsQuery(_ search: FullTextSearch) -> String {
        search.terms.map { "\"\($0.word)\"" + ($0.prefix ? " *" : "") }.joined(separator: " ")
    }
}

extension ProjectionValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let value): value.databaseValue
        case .real(let value): value.databaseValue
        case .text(let value): value.databaseValue
        case .blob(let value): value.databaseValue
        }
    }
}

/// SQLite copies bound blobs (`SQLITE_TRANSIENT`, which Swift does not import).
private let copyBound = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

extension ProjectionValue: SQLiteArgument, SQLiteColumn {
    func bind(to statement: OpaquePointer, at index: Int32) -> Int32 {
        switch self {
        case .null: sqlite3_bind_null(statement, index)
        case .integer(let value): value.bind(to: statement, at: index)
        case .real(let value): sqlite3_bind_double(statement, index, value)
        case .text(let value): value.bind(to: statement, at: index)
        case .blob(let value): value.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), copyBound) }
        }
    }

    static func read(_ statement: OpaquePointer, _ column: Int32) -> ProjectionValue {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_NULL: .null
        case SQLITE_INTEGER: .integer(Int64.read(statement, column))
        case SQLITE_FLOAT: .real(sqlite3_column_double(statement, column))
        case SQLITE_BLOB: .blob(Data.read(statement, column))
        default: .text(String.read(statement, column))
        }
    }
}
