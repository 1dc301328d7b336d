import Foundation

/// A read of one projection table: conditions, order, a page. The same query runs on every
/// store (parameterised SQL on SQLite and PostgreSQL, a filter in memory); values are always
/// bound, never spliced.
///
/// ```swift
/// let page = try await engine.rows(catalog, ProjectionQuery("products")
///     .where(.equals("category", .text("books")))
///     .ordered(by: "title").page(size: 20, offset: 40))
/// ```
public struct ProjectionQuery: Sendable, Hashable {
    public enum Condition: Sendable, Hashable {
        case equals(String, ProjectionValue)
        case lessThan(String, ProjectionValue)
        case atMost(String, ProjectionValue)
        case greaterThan(String, ProjectionValue)
        case atLeast(String, ProjectionValue)
        /// A text column holding `substring` (case-sensitive: store a lower-cased column to
        /// search without case).
        case contains(String, String)
        case hasPrefix(String, String)
        /// The column equals one of `values` (SQL `IN`); none given matches nothing.
        case oneOf(String, [ProjectionValue])
        /// The column equals column `select` of a row of `table`, another table of the same
        /// projection, that meets every condition of `where` (SQL `IN (SELECT …)`). A word
        /// index narrowing a listing, without copying the listing's columns into the index.
        /// Meant for a narrow `where`: SQLite reads those rows first and looks the query's
        /// rows up by them (the first such condition of a query), then sorts what it found.
        ///
        /// ```swift
        /// ProjectionQuery("products").where(.inRows("sku", table: "terms", select: "sku", where: [.equals("term", .text("tea"))]))
        /// ```
        case inRows(String, table: String, select: String, where: [Condition])
        /// Rows that come after the row whose `columns` hold `values`, in the order of those
        /// columns, all ascending (or, `descending`, all descending): keyset paging. A page
        /// then costs the same wherever it lies, where an offset reads and skips every row
        /// before it. SQL's row-value comparison, `(a, b) > (?, ?)`, which an index on the
        /// columns serves. End the columns with a unique one (the key) so no row is skipped.
        ///
        /// ```swift
        /// ProjectionQuery("products").where(.after(["title", "sku"], [.text("Teapot"), .text("teapot")]))
        ///     .ordered(by: "title").ordered(by: "sku").page(size: 20)
        /// ```
        case after([String], [ProjectionValue], descending: Bool = false)
        /// Rows whose full-text columns (``ProjectionTable/fullText``) hold every term of the
        /// search. At most one per query; a search without terms matches nothing.
        case matches(FullTextSearch)

        /// The column the condition is on (the first, for ``after(_:_:descending:)``; none
        /// for ``matches(_:)``).
        var column: String {
            switch self {
            case .equals(let c, _), .lessThan(let c, _), .atMost(let c, _), .greaterThan(let c, _), .atLeast(let c, _),
                 .contains(let c, _), .hasPrefix(let c, _), .oneOf(let c, _), .inRows(let c, _, _, _): c
            case .after(let columns, _, _): columns.first ?? ""
            case .matches: ""
            }
        }

        /// The same condition with the tables of its ``inRows(_:table:select:where:)`` renamed by `name`.
        func renamingTables(_ name: (String) throws -> String) rethrows -> Condition {
            guard case .inRows(let column, let table, let select, let conditions) = self else { return self }
            return .inRows(column, table: try name(table), select: select, where: try conditions.map { try $0.renamingTables(name) })
        }
    }

    public struct SortKey: Sendable, Hashable {
        public var column: String
        public var ascending: Bool
    }

    public var table: String
    public var conditions: [Condition] = []
    /// Rows that match the query's full-text search best come first, before ``order``.
    public var byRelevance = false
    public var order: [SortKey] = []
    public var limit: Int?
    public var offset = 0

    /// The most values a ``Condition/oneOf(_:_:)`` may list (each is a bound parameter).
    public static let maximumListedValues = 1000

    public init(_ table: String) { self.table = table }

    public func `where`(_ condition: Condition) -> ProjectionQuery {
        var query = self
        query.conditions.append(condition)
        return query
    }

    public func ordered(by column: String, ascending: Bool = true) -> ProjectionQuery {
        var query = self
        query.order.append(SortKey(column: column, ascending: ascending))
        return query
    }

    /// Orders rows by how well they match the query's ``Condition/matches(_:)`` search, the
    /// best first (SQLite's `bm25`, PostgreSQL's `ts_rank`, each weighing words of earlier
    /// full-text columns more; stores may rank close matches differently), then by
    /// ``ordered(by:ascending:)`` and the primary key.
    public func orderedByRelevance() -> ProjectionQuery {
        var query = self
        query.byRelevance = true
        return query
    }

    /// The query's full-text search, if it has one.
    public var fullTextSearch: FullTextSearch? {
        for case .matches(let search) in conditions { return search }
        return nil
    }

    public func page(size: Int, offset: Int = 0) -> ProjectionQuery {
        var query = self
        query.limit = size
        query.offset = offset
        return query
    }

    /// The order rows come in: ``order``, then the primary key's columns not in it
    /// (ascending), so ties come in the same order on every store.
    public func sortKeys(for table: ProjectionTable) -> [SortKey] {
        order + table.primaryKey.filter { key in !order.contains { $0.column == key } }.map { SortKey(column: $0, ascending: true) }
    }

    /// - Throws: ``ProjectionError`` naming the column or value that does not fit `table`
    ///   (or, for ``Condition/inRows(_:table:select:where:)``, the other table: `tables` finds it).
    func validate(against table: ProjectionTable, tables: (String) throws -> ProjectionTable) throws {
        let searches = conditions.filter { if case .matches = $0 { true } else { false } }.count
        if searches > 0 || byRelevance {
            guard !table.fullText.isEmpty else { throw ProjectionError.noFullText(table: table.name) }
            guard searches == 1 else { throw ProjectionError.mismatchedValue(table: table.name, column: "matches", value: .integer(Int64(searches))) }
        }
        try Self.validate(conditions, against: table, tables: tables)
        for key in order where table.column(key.column) == nil { throw ProjectionError.unknownColumn(table: table.name, column: key.column) }
        if let limit, limit < 0 { throw ProjectionError.mismatchedValue(table: table.name, column: "limit", value: .integer(Int64(limit))) }
        guard offset >= 0 else { throw ProjectionError.mismatchedValue(table: table.name, column: "offset", value: .integer(Int64(offset))) }
    }

    private static func validate(_ conditions: [Condition], against table: ProjectionTable, tables: (String) throws -> ProjectionTable) throws {
        for condition in conditions {
            if case .matches(let search) = condition {
                guard !table.fullText.isEmpty else { throw ProjectionError.noFullText(table: table.name) }
                guard search.terms.count <= FullTextSearch.maximumTerms else {
                    throw ProjectionError.mismatchedValue(table: table.name, column: "matches", value: .text(search.description))
                }
                continue
            }
            guard let column = table.column(condition.column) else { throw ProjectionError.unknownColumn(table: table.name, column: condition.column) }
            switch condition {
            case .matches: break
            case .equals(_, let value), .lessThan(_, let value), .atMost(_, let value), .greaterThan(_, let value), .atLeast(_, let value):
                guard value != .null, value.fits(column) else { throw ProjectionError.mismatchedValue(table: table.name, column: column.name, value: value) }
            case .oneOf(_, let values):
                for value in values where value == .null || !value.fits(column) {
                    throw ProjectionError.mismatchedValue(table: table.name, column: column.name, value: value)
                }
                guard values.count <= ProjectionQuery.maximumListedValues else {
                    throw ProjectionError.mismatchedValue(table: table.name, column: column.name, value: .integer(Int64(values.count)))
                }
            case .contains, .hasPrefix:
                guard column.type == .text else { throw ProjectionError.mismatchedValue(table: table.name, column: column.name, value: .text("…")) }
            case .inRows(_, let other, let select, let inner):
                let source = try tables(other)
                guard source.column(select) != nil else { throw ProjectionError.unknownColumn(table: source.name, column: select) }
                try validate(inner, against: source, tables: tables)
            case .after(let columns, let values, _):
                guard columns.count == values.count else {
                    throw ProjectionError.mismatchedValue(table: table.name, column: columns.joined(separator: ","), value: .integer(Int64(values.count)))
                }
                for (name, value) in zip(columns, values) {
                    guard let column = table.column(name) else { throw ProjectionError.unknownColumn(table: table.name, column: name) }
                    guard value != .null, value.fits(column) else { throw ProjectionError.mismatchedValue(table: table.name, column: name, value: value) }
                }
            }
        }
    }

    /// Whether `row` meets every condition (the in-memory store's evaluation; SQL stores
    /// express the same in SQL). `rows` gives the rows of a table an
    /// ``Condition/inRows(_:table:select:where:)`` names.
    public func matches(_ row: [String: ProjectionValue], rows: (String) -> [[String: ProjectionValue]] = { _ in [] }) -> Bool {
        Self.matches(row, conditions, rows: rows)
    }

    private static func matches(
        _ row: [String: ProjectionValue], _ conditions: [Condition], rows: (String) -> [[String: ProjectionValue]]
    ) -> Bool {
        conditions.allSatisfy { condition in
            let value = row[condition.column] ?? .null
            switch condition {
            case .equals(_, let wanted): return value == wanted
            case .lessThan(_, let bound): return ProjectionValue.compare(value, bound).map { $0 < 0 } ?? false
            case .atMost(_, let bound): return ProjectionValue.compare(value, bound).map { $0 <= 0 } ?? false
            case .greaterThan(_, let bound): return ProjectionValue.compare(value, bound).map { $0 > 0 } ?? false
            case .atLeast(_, let bound): return ProjectionValue.compare(value, bound).map { $0 >= 0 } ?? false
            case .contains(_, let substring):
                guard case .text(let text) = value else { return false }
                return substring.isEmpty || text.utf8.firstRange(of: substring.utf8) != nil
            case .hasPrefix(_, let prefix):
                guard case .text(let text) = value else { return false }
                return text.utf8.starts(with: prefix.utf8)
            case .oneOf(_, let values): return values.contains(value)
            case .inRows(_, let table, let select, let inner):
                return rows(table).contains { (($0[select] ?? .null) == value) && matches($0, inner, rows: rows) }
            case .after(let columns, let values, let descending):
                for (column, bound) in zip(columns, values) {
                    guard let order = ProjectionValue.compare(row[column] ?? .null, bound) else { return false }
                    if order != 0 { return descending ? order < 0 : order > 0 }
                }
                return false  // the row itself
            case .matches(let search):
                return search.matches(Self.documents(of: row))
            }
        }
    }
}

extension ProjectionQuery {
    /// The documents of a stored row (``ProjectionTable/storedColumns``), in the order of
    /// its full-text columns.
    public static func documents(of row: [String: ProjectionValue]) -> [String] {
        var documents: [String] = []
        while case .text(let document)? = row[FullText.documentColumn(documents.count)] { documents.append(document) }
        return documents
    }

    /// How well a stored row matches the query's search (the in-memory store's relevance;
    /// higher is better), 0 without one.
    public func relevance(of row: [String: ProjectionValue]) -> Double {
        fullTextSearch?.score(Self.documents(of: row)) ?? 0
    }
}

extension ProjectionValue {
    /// Ordering as the SQL stores order: NULL first, then numbers, text by its UTF-8 bytes
    /// (SQLite's BINARY collation, PostgreSQL's "C"), blobs by bytes. `nil` across kinds.
    public static func compare(_ a: ProjectionValue, _ b: ProjectionValue) -> Int? {
        func sign<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x > y ? 1 : 0) }
        switch (a, b) {
        case (.null, .null): return 0
        case (.null, _): return -1
        case (_, .null): return 1
        case (.integer(let x), .integer(let y)): return sign(x, y)
        case (.real(let x), .real(let y)): return sign(x, y)
        case (.integer(let x), .real(let y)): return sign(Double(x), y)
        case (.real(let x), .integer(let y)): return sign(x, Double(y))
        case (.text(let x), .text(let y)): return x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : (x == y ? 0 : 1)
        case (.blob(let x), .blob(let y)): return x.lexicographicallyPrecedes(y) ? -1 : (x == y ? 0 : 1)
        default: return nil
        }
    }
}

/// One row of a projection table, with typed access that names the column when it fails.
public struct ProjectionRow: Sendable, Hashable {
    public let table: String
    public let values: [String: ProjectionValue]

    public init(table: String, values: [String: ProjectionValue]) {
        self.table = table
        self.values = values
    }

    public subscript(column: String) -> ProjectionValue { values[column] ?? .null }

    public func integer(_ column: String) throws -> Int64 {
        guard case .integer(let value) = self[column] else { throw mismatch(column, "an integer") }
        return value
    }

    public func optionalInteger(_ column: String) throws -> Int64? {
        if self[column] == .null { return nil }
        return try integer(column)
    }

    public func real(_ column: String) throws -> Double {
        switch self[column] {
        case .real(let value): return value
        case .integer(let value): return Double(value)
        default: throw mismatch(column, "a number")
        }
    }

    public func text(_ column: String) throws -> String {
        guard case .text(let value) = self[column] else { throw mismatch(column, "text") }
        return value
    }

    public func optionalText(_ column: String) throws -> String? {
        if self[column] == .null { return nil }
        return try text(column)
    }

    public func blob(_ column: String) throws -> Data {
        guard case .blob(let value) = self[column] else { throw mismatch(column, "a blob") }
        return value
    }

    private func mismatch(_ column: String, _ expected: String) -> ProjectionError {
        .mismatchedRow(table: table, column: column, expected: expected, found: self[column])
    }
}

/// What goes wrong with a projection: each case names the projection, table or column.
public enum ProjectionError: Error, Hashable, Sendable, CustomStringConvertible {
    case unknownProjection(String)
    case unknownTable(projection: String, table: String)
    case unknownColumn(table: String, column: String)
    case mismatchedValue(table: String, column: String, value: ProjectionValue)
    case mismatchedRow(table: String, column: String, expected: String, found: ProjectionValue)
    case missingColumn(table: String, column: String)
    /// The projection's serving tables are of another version than the code's: a rebuild
    /// into the declared version is on its way (or must be started).
    case notReady(projection: String, serving: Int?, declared: Int)
    /// A full-text search or relevance order on a table that declares no full-text columns.
    case noFullText(table: String)

    public var description: String {
        switch self {
        case .unknownProjection(let name): "no projection \(name) in this store"
        case .unknownTable(let projection, let table): "projection \(projection) has no table \(table)"
        case .unknownColumn(let table, let column): "projection table \(table) has no column \(column)"
        case .mismatchedValue(let table, let column, let value): "\(value) does not fit column \(column) of projection table \(table)"
        case .mismatchedRow(let table, let column, let expected, let found):
            "column \(column) of projection table \(table) holds \(found), not \(expected)"
        case .missingColumn(let table, let column): "a row of projection table \(table) needs column \(column)"
        case .noFullText(let table): "projection table \(table) declares no full-text columns to search"
        case .notReady(let projection, let serving, let declared):
            "projection \(projection) serves version \(serving.map(String.init) ?? "none"); version \(declared) is being built"
        }
    }
}
