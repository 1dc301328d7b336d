import Foundation

/// A projection's shape as a store needs it: its name, version and tables.
public struct ProjectionSchema: Sendable, Hashable {
    public var name: String
    public var version: Int
    public var tables: [ProjectionTable]

    public init(name: String, version: Int, tables: [ProjectionTable]) {
        self.name = name
        self.version = version
        self.tables = tables
    }

    /// The physical tables of generation `generation`, by table name.
    public func physicalTables(generation: Int) -> [String: String] {
        Dictionary(uniqueKeysWithValues: tables.map { ($0.name, ProjectionNames.physical(projection: name, table: $0.name, generation: generation)) })
    }

    /// Generation `number` of this version: its physical tables, not yet created.
    public func generation(_ number: Int) -> ProjectionState.Generation {
        ProjectionState.Generation(number: number, version: version, tables: physicalTables(generation: number))
    }

    /// The checkpoint of the subscription that fills generation `generation`.
    public func checkpointName(generation: Int) -> String { "\(name)@g\(generation)" }
}

/// Which rows a projection serves: the generation serving, and how many commits have
/// changed the projection's rows so far.
///
/// The rows change only when this does: a store counts every commit that carries row changes
/// of the projection in that commit's own transaction, and a rebuild swaps in another
/// generation. So a reader may keep what it derived from the rows (a rendered page, a count)
/// for as long as the version it read *before* reading them is still the current one.
/// Events the projection does not take move its checkpoint but not its version.
public struct ProjectionVersion: Sendable, Hashable {
    public var generation: Int
    /// Commits that changed rows of the projection (of any of its generations), counted by the store.
    public var changes: Int64

    public init(generation: Int, changes: Int64) {
        self.generation = generation
        self.changes = changes
    }
}

/// Where a projection stands in a store: the generation queries read, and one being built.
public struct ProjectionState: Sendable, Hashable {
    /// One set of the projection's tables, filled by its own checkpoint.
    public struct Generation: Sendable, Hashable {
        public var number: Int
        /// The projection version the tables were created for.
        public var version: Int
        /// The physical tables, by table name.
        public var tables: [String: String]

        public init(number: Int, version: Int, tables: [String: String]) {
            self.number = number
            self.version = version
            self.tables = tables
        }
    }

    public var name: String
    public var serving: Generation
    /// A rebuild in progress: filled from the start of the log while ``serving`` answers.
    public var building: Generation?

    public init(name: String, serving: Generation, building: Generation?) {
        self.name = name
        self.serving = serving
        self.building = building
    }

    /// The number a new build takes: one above the newest generation.
    public var nextGenerationNumber: Int { max(serving.number, building?.number ?? 0) + 1 }
}

/// One row change of a projection table, as a commit carries it (tables and columns are
/// validated identifiers; values are bound).
public enum ProjectionWrite: Sendable, Hashable {
    /// Inserts the row, or replaces every column of the row with the same key.
    case upsert(table: String, columns: [String], values: [ProjectionValue], key: [String])
    /// Sets these columns of the row with this key, which the batch knows exists: only the
    /// columns that changed, so the store touches only the indexes on them.
    case update(table: String, key: [String], keyValues: [ProjectionValue], columns: [String], values: [ProjectionValue])
    case delete(table: String, key: [String], values: [ProjectionValue])
}

/// Projection tables and their generations: the store capability behind ``Projection``.
///
/// A store guarantees:
/// - A changeset's ``Changeset/projectionWrites`` commit in its transaction, with its
///   checkpoint and events: a projection's rows never show an uncommitted change. When there
///   are any, the same transaction counts one more change of the fenced projection (its
///   ``ProjectionVersion``).
/// - A changeset fenced by ``Changeset/projectionFence`` commits only while its generation
///   is serving or being built; otherwise it fails with
///   ``StoreError/projectionGenerationGone(projection:generation:)`` and writes nothing.
/// - Creating, switching and dropping generations is atomic.
public protocol ProjectionStore: Sendable {
    /// The projection's state, creating it when new: generation 1 of `schema`, serving at
    /// once (empty, filled by its subscription from the start of the log).
    func prepareProjection(_ schema: ProjectionSchema) async throws -> ProjectionState

    /// The projection's state, if the store knows it.
    func projectionState(_ name: String) async throws -> ProjectionState?

    /// Starts a rebuild of `schema` into new, empty tables: the building generation, one
    /// number above the newest. When a build of `schema.version` is under way already (a
    /// second node started it), returns that one instead.
    func beginProjectionBuild(_ schema: ProjectionSchema) async throws -> ProjectionState

    /// Makes the building generation `generation` serve: drops the tables, checkpoint and
    /// parked events of the generation it replaces, in one transaction.
    ///
    /// - Throws: ``StoreError/projectionGenerationGone(projection:generation:)`` when
    ///   `generation` is not the one being built.
    func completeProjectionBuild(_ schema: ProjectionSchema, generation: Int) async throws

    /// Rows of `table` (stored as `physical`) matching `query`, in its order. The tables
    /// its ``ProjectionQuery/Condition/inRows(_:table:select:where:)`` conditions name are
    /// physical names too.
    func projectionRows(_ table: ProjectionTable, physical: String, query: ProjectionQuery) async throws -> [ProjectionRow]

    /// How many rows of `table` match `query`'s conditions (its order and page ignored).
    func projectionCount(_ table: ProjectionTable, physical: String, query: ProjectionQuery) async throws -> Int

    /// The projection's serving generation and how many commits changed its rows (see
    /// ``ProjectionVersion``), `nil` when the store does not know the projection. One small
    /// read: readers call it per request.
    func projectionVersion(_ name: String) async throws -> ProjectionVersion?
}

/// The projection generation a commit writes for: it commits only while that generation is
/// still serving or being built (see ``ProjectionStore``).
public struct ProjectionFence: Sendable, Hashable {
    public var projection: String
    public var generation: Int

    public init(projection: String, generation: Int) {
        self.projection = projection
        self.generation = generation
    }
}

extension ProjectionState {
    /// A state as the SQL stores keep it: each generation's number, version and physical
    /// tables (``Generation/tablesJSON()``); no building generation when its number is NULL.
    public init(name: String, serving: (Int, Int, String), building: (Int?, Int?, String?)) throws {
        func tables(_ json: String) throws -> [String: String] { try JSONDecoder().decode([String: String].self, from: Data(json.utf8)) }
        var built: Generation?
        if let number = building.0, let version = building.1, let json = building.2 {
            built = Generation(number: number, version: version, tables: try tables(json))
        }
        self.init(name: name, serving: Generation(number: serving.0, version: serving.1, tables: try tables(serving.2)), building: built)
    }
}

extension ProjectionState.Generation {
    /// The physical table names as the SQL stores keep them: a JSON object, keys sorted.
    public func tablesJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(tables), as: UTF8.self)
    }
}
