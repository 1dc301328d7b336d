import Foundation

/// A table a projection owns: its columns, primary key and indexes, declared in code.
/// Herald creates it (on every store, in its dialect), writes it only through the
/// projection's handler and queries it through ``ProjectionQuery``.
///
/// ```swift
/// let products = ProjectionTable(
///     name: "products",
///     columns: [.init("sku", .text), .init("title", .text), .init("category", .text), .init("price", .integer)],
///     primaryKey: ["sku"], indexes: [["category", "title"]], fullText: ["title"])
/// ```
public struct ProjectionTable: Sendable, Hashable {
    public enum ColumnType: String, Sendable, Hashable {
        case integer, real, text, blob
    }

    public struct Column: Sendable, Hashable {
        public var name: String
        public var type: ColumnType
        public var nullable: Bool

        public init(_ name: String, _ type: ColumnType, nullable: Bool = false) {
            self.name = name
            self.type = type
            self.nullable = nullable
        }
    }

    public var name: String
    public var columns: [Column]
    /// The columns whose values identify a row (in this order).
    public var primaryKey: [String]
    /// Column lists to index, each in order (a query's filters and sort should follow one).
    public var indexes: [[String]]
    /// Text columns searched together by ``ProjectionQuery/Condition/matches(_:)``, at most
    /// four, the most telling first: a word found in an earlier column counts more toward
    /// ``ProjectionQuery/orderedByRelevance()``. Each store indexes their words with its own
    /// full-text engine, kept in the transaction that writes the row (see ``FullText``).
    public var fullText: [String]

    public init(name: String, columns: [Column], primaryKey: [String], indexes: [[String]] = [], fullText: [String] = []) {
        self.name = name
        self.columns = columns
        self.primaryKey = primaryKey
        self.indexes = indexes
        self.fullText = fullText
    }

    public func column(_ name: String) -> Column? { columns.first { $0.name == name } }

    /// The columns a store keeps: the declared ones, then one holding the words of each
    /// full-text column (its document, ``FullText``), which queries never return.
    public var storedColumns: [Column] {
        columns + fullText.indices.map { Column(FullText.documentColumn($0), .text) }
    }

    /// The document columns, in the order of ``fullText``.
    public var documentColumns: [String] { fullText.indices.map(FullText.documentColumn) }

    /// `row` (every declared column) with the document of each full-text column added.
    func addingDocuments(to row: [String: ProjectionValue]) -> [String: ProjectionValue] {
        var stored = row
        for (index, column) in fullText.enumerated() { stored[FullText.documentColumn(index)] = FullText.document(of: row[column] ?? .null) }
        return stored
    }

    /// The document columns that follow `changed` columns.
    func documentColumns(following changed: [String]) -> [String] {
        fullText.enumerated().filter { changed.contains($0.element) }.map { FullText.documentColumn($0.offset) }
    }

    /// - Throws: ``ConfigurationError`` naming the table and what is wrong.
    public func validate(in projection: String) throws {
        try ProjectionNames.check(name, setting: "ProjectionTable.name (\(projection))")
        guard !columns.isEmpty else {
            throw ConfigurationError(setting: "ProjectionTable.columns (\(projection).\(name))", value: "none", allowed: "at least one column")
        }
        var seen = Set<String>()
        for column in columns {
            try ProjectionNames.check(column.name, setting: "ProjectionTable.Column.name (\(projection).\(name))")
            guard seen.insert(column.name).inserted else {
                throw ConfigurationError(setting: "ProjectionTable.columns (\(projection).\(name))", value: column.name, allowed: "each column once")
            }
        }
        guard !primaryKey.isEmpty, primaryKey.allSatisfy({ column($0).map { !$0.nullable } ?? false }) else {
            throw ConfigurationError(
                setting: "ProjectionTable.primaryKey (\(projection).\(name))", value: primaryKey.joined(separator: ", "),
                allowed: "one or more of its non-nullable columns")
        }
        for index in indexes where index.isEmpty || !index.allSatisfy({ seen.contains($0) }) {
            throw ConfigurationError(
                setting: "ProjectionTable.indexes (\(projection).\(name))", value: index.joined(separator: ", "), allowed: "one or more of its columns")
        }
        guard fullText.count <= FullTextWeights.postgres.count, Set(fullText).count == fullText.count,
              fullText.allSatisfy({ column($0)?.type == .text })
        else {
            throw ConfigurationError(
                setting: "ProjectionTable.fullText (\(projection).\(name))", value: fullText.joined(separator: ", "),
                allowed: "at most four of its text columns, each once")
        }
        guard !columns.contains(where: { $0.name.hasPrefix("herald_") }) else {
            throw ConfigurationError(setting: "ProjectionTable.columns (\(projection).\(name))", value: "herald_…", allowed: "names not starting with herald_")
        }
    }
}

/// A value in a projection's row.
public enum ProjectionValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)

    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .text(let value): "'\(value)'"
        case .blob(let value): "<\(value.count) bytes>"
        }
    }

    /// Whether the value can be stored in a column of `type` (NULL only where it is nullable).
    func fits(_ column: ProjectionTable.Column) -> Bool {
        switch (self, column.type) {
        case (.null, _): column.nullable
        case (.integer, .integer), (.real, .real), (.text, .text), (.blob, .blob): true
        default: false
        }
    }
}

/// Names of projections, their tables and columns: what may go into SQL as an identifier.
enum ProjectionNames {
    /// `[a-z][a-z0-9_]*`, at most 24 characters (a physical table name must stay within
    /// PostgreSQL's 63).
    static func check(_ name: String, setting: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_")
        guard let first = name.first, first.isLetter, first.isLowercase, name.count <= 24, name.allSatisfy(allowed.contains) else {
            throw ConfigurationError(setting: setting, value: "\"\(name)\"", allowed: "1–24 of a–z, 0–9 and _, starting with a letter")
        }
    }

    /// The table that holds `table` of `projection` in its generation `generation`.
    static func physical(projection: String, table: String, generation: Int) -> String {
        "p_\(projection)_\(table)_g\(generation)"
    }
}
