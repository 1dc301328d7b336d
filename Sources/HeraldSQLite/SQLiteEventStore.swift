import Foundation
import GRDB
import GRDBSQLite
import Herald

/// An ``EventStore`` in one SQLite file, through a GRDB `DatabasePool` in WAL mode.
///
/// The embedded default: no server, one writer at a time, any number of readers. Commits
/// are serialized by one writer thread, so positions are assigned in commit order and a
/// reader never sees a gap that fills later. Commits that wait while the writer works go
/// into its next transaction together, each in a savepoint of its own, and share one sync
/// (group commit, see ``writeGroups``). With ``Options/Synchronous-swift.enum/normal`` a committed
/// transaction survives a crash of the process (SIGKILL); with
/// ``Options/Synchronous-swift.enum/full`` it also survives a power loss.
///
/// ```swift
/// let store = try SQLiteEventStore(path: "app.sqlite")
/// let engine = HeraldEngine(store: store, registry: registry)
/// ```
public final class SQLiteEventStore: EventStore, EventPruning {
    public struct Options: Sendable, Hashable {
        /// SQLite's `PRAGMA synchronous` on the writer: what a commit that returned survives.
        ///
        /// The store's default stays `normal`: one committer at a time commits about half as
        /// fast under `full` (each commit waits for its own fsync; `herald-bench`
        /// `uow_commits_per_s_full` against `uow_commits_per_s`). With many committers at once
        /// the writer's group commit shares one fsync among them and the gap mostly closes
        /// (`uow_commits_per_s_full_64` against `uow_commits_per_s_64`), which is why Mall, a
        /// server with many requests in flight, runs `full` by default. An application that
        /// acknowledges anything to the outside world should choose `full`.
        public enum Synchronous: String, Sendable, Hashable {
            /// Durable across process crashes (SIGKILL); a power loss or an operating-system
            /// crash may lose the last commits (tested: `PowerLossTests`). The default.
            case normal = "NORMAL"
            /// Durable across power loss: a commit returns once the disk has it (one fsync
            /// per write group).
            case full = "FULL"
        }

        public var synchronous: Synchronous
        /// How long a connection waits for another process's lock before failing.
        public var busyTimeout: Duration
        /// How much of the file each read connection maps into memory (SQLite's
        /// `PRAGMA mmap_size`), in bytes; 0 reads with system calls. Mapped pages are read
        /// in place instead of copied: a listing page of a 100,000-product catalog was
        /// served about 20% faster with the file mapped (mall-bench --catalog, BENCHMARKS).
        /// They count towards the process's resident memory while the kernel keeps them.
        public var readMemoryMap: Int
        /// The permissions a new database file is created with; its `-wal` and `-shm` files
        /// get the same (SQLite gives them the database file's mode). Owner only by default:
        /// the log holds whatever the application stores, secrets among it. An existing
        /// file keeps its mode.
        public var fileMode: mode_t

        public init(synchronous: Synchronous = .normal, busyTimeout: Duration = .seconds(10), readMemoryMap: Int = 0, fileMode: mode_t = 0o600) {
            self.synchronous = synchronous
            self.busyTimeout = busyTimeout
            self.readMemoryMap = readMemoryMap
            self.fileMode = fileMode
        }
    }

    /// The underlying pool, for applications that keep their own tables in the same file.
    public let database: DatabasePool
    public let path: String
    public let commitSignal = CommitSignal()
    /// A SQLite file is served by one process: announcements reach its own followers.
    public let announcements = Announcements()
    private let reads: ReadConnections
    let writer: GroupCommitWriter

    /// Opens (creating and migrating when needed) the store at `path`.
    ///
    /// - Throws: ``StoreError/schemaTooNew(found:supported:)`` for a file written by a newer
    ///   Herald, ``StoreError/readOnly(_:)`` for a file that cannot be written.
    public init(path: String, options: Options = Options()) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(options.busyTimeout.timeInterval)
        configuration.label = "herald"
        reads = ReadConnections(path: path, busyTimeout: options.busyTimeout, memoryMap: options.readMemoryMap)
        try Self.create(path, mode: options.fileMode)
        let database = try Self.mappingErrors(path: path) { try DatabasePool(path: path, configuration: configuration) }
        self.database = database
        // DatabasePool sets synchronous=NORMAL itself after prepareDatabase; override after opening.
        try Self.mappingErrors(path: path) {
            try database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(options.synchronous.rawValue)")
                try db.inTransaction(.immediate) {
                    try SQLiteSchema.migrate(db)
                    return .commit
                }
            }
        }
        writer = GroupCommitWriter(database: database, label: "herald.sqlite.writer")
    }

    /// Creates an empty file at `path` with `mode` unless one exists (SQLite takes an empty
    /// file for a new database). SQLite would create it itself, but with the process's
    /// umask (0644 as a rule): readable by every local user.
    private static func create(_ path: String, mode: mode_t) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if descriptor >= 0 {
            // Whatever the umask took away from `mode` is given back: the mode asked for is the mode.
            _ = fchmod(descriptor, mode)
            close(descriptor)
        } else if errno != EEXIST {
            let code = errno
            let detail = "\(path): cannot create the database file: \(String(cString: strerror(code)))"
            throw [EACCES, EPERM, EROFS].contains(code) ? StoreError.readOnly(detail) : StoreError.unavailable(detail)
        }
    }

    /// How many commits each write transaction took together so far (see ``GroupCommitWriter``).
    public var writeGroups: WriteGroupStatistics { writer.groupStatistics }

    /// Writes handed to the writer and not yet taken into a transaction.
    var waitingWrites: Int { writer.waitingWrites }

    /// The writer's `PRAGMA synchronous` as SQLite reports it (0 off, 1 normal, 2 full).
    public func synchronousSetting() throws -> Int {
        try database.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// The schema version stored in the file.
    public func schemaVersion() throws -> Int {
        try database.read(SQLiteSchema.storedVersion)
    }

    public func commit(_ changeset: Changeset) async throws -> [EventEnvelope] {
        guard !changeset.isEmpty else { return [] }
        let recorded = try await write { db in
            let now = changeset.recordedAt
            for write in changeset.aggregates { try AggregatesTable.write(write, at: now, db) }
            for key in changeset.deliveredSchedules { try ScheduledTable.markDelivered(key: key, db) }
            for key in changeset.cancelledSchedules { try ScheduledTable.cancel(key: key, db) }
            for message in changeset.scheduled { try ScheduledTable.upsert(message, db) }
            if let progress = changeset.subscription { try SubscriptionsTable.apply(progress, at: now, db) }
            if let fence = changeset.projectionFence { try ProjectionsTable.check(fence, db) }
            for write in changeset.projectionWrites { try ProjectionsTable.apply(write, db) }
            if let fence = changeset.projectionFence, !changeset.projectionWrites.isEmpty { try ProjectionsTable.countChange(of: fence.projection, db) }
            return try EventsTable.append(changeset.events, recordedAt: now, db)
        }
        // One writer appends at a time, each position after the last: the events took every
        // position from the first to the last.
        if changeset.announcesWork { commitSignal.notify(committed: changeset, at: recorded.positionRange) }
        return recorded
    }

    public func aggregate(_ stream: StreamID) async throws -> StoredAggregate? {
        try read { try AggregatesTable.fetch(stream, $0) }
    }

    public func events(after position: Int64, limit: Int) async throws -> [EventEnvelope] {
        try read { try EventsTable.after(position, limit: limit, $0) }
    }

    /// One read: the end of the scanned range from the position index (`limit` events, times
    /// the partition count for one partition, up to 10,000), then the rows of the wanted
    /// types within it, filtered by partition.
    public func events(after position: Int64, limit: Int, matching filter: EventFilter) async throws -> (events: [EventEnvelope], scannedThrough: Int64?) {
        try snapshot { try EventsTable.after(position, limit: limit, matching: filter, $0) }
    }

    /// One read transaction: one hop to a reader connection instead of three.
    public func subscriptionRead(
        subscription: String, checkpointName: String, skippedThrough: Int64?, limit: Int, matching filter: EventFilter?
    ) async throws -> SubscriptionRead {
        try snapshot { connection in
            guard let checkpoint = try SubscriptionsTable.checkpoint(of: checkpointName, connection) else {
                throw StoreError.checkpointRemoved(checkpointName)
            }
            let parked = try SubscriptionsTable.parked(subscription: subscription, connection)
            let from = max(checkpoint, skippedThrough ?? 0)
            if let filter {
                let read = try EventsTable.after(from, limit: limit, matching: filter, connection)
                return SubscriptionRead(checkpoint: checkpoint, parked: parked, events: read.events, scannedThrough: read.scannedThrough)
            }
            let events = try EventsTable.after(from, limit: limit, connection)
            return SubscriptionRead(checkpoint: checkpoint, parked: parked, events: events, scannedThrough: events.last?.position)
        }
    }

    public func events(at positions: [Int64]) async throws -> [EventEnvelope] {
        try snapshot { try EventsTable.at(positions, $0) }
    }

    public func headPosition() async throws -> Int64 {
        try read(EventsTable.head)
    }

    public func firstPosition(of stream: StreamID) async throws -> Int64? {
        try read { try EventsTable.firstPosition(of: stream, $0) }
    }

    public func checkpoint(of subscription: String, creatingAt initialPosition: Int64) async throws -> Int64 {
        if let existing = try read({ try SubscriptionsTable.checkpoint(of: subscription, $0) }) { return existing }
        let now = Date()
        return try await write { try SubscriptionsTable.checkpoint(of: subscription, creatingAt: initialPosition, at: now, $0) }
    }

    public func checkpoints() async throws -> [String: Int64] {
        try read(SubscriptionsTable.checkpoints)
    }

    public func replaceCheckpoints(of subscription: String, expecting current: [String: Int64], with names: [String], at position: Int64) async throws {
        let now = Date()
        try await write {
            try SubscriptionsTable.replaceCheckpoints(of: subscription, expecting: current, with: names, at: position, now: now, $0)
        }
    }

    public func parkedEvents(subscription: String?) async throws -> [ParkedEvent] {
        try read { try SubscriptionsTable.parked(subscription: subscription, $0) }
    }

    public func inboxContains(subscription: String, eventID: UUID) async throws -> Bool {
        try read { try SubscriptionsTable.inboxContains(subscription: subscription, eventID: eventID, $0) }
    }

    public func dueScheduledMessages(at date: Date, limit: Int) async throws -> [ScheduledMessage] {
        try read { try ScheduledTable.due(at: date, limit: limit, $0) }
    }

    public func nextScheduledDueDate() async throws -> Date? {
        try read(ScheduledTable.nextDueDate)
    }

    public func scheduledMessageCounts(dueBy date: Date) async throws -> ScheduledMessageCounts {
        try read { try ScheduledTable.counts(dueBy: date, $0) }
    }

    public func heartbeat(group: String, node: String, now: Date, expiresAt: Date) async throws -> [String] {
        try await write { try LeasesTable.heartbeat(group: group, node: node, now: now, expiresAt: expiresAt, $0) }
    }

    public func acquireLease(subscription: String, partition: Int, owner: String, now: Date, expiresAt: Date) async throws -> PartitionLease? {
        try await write {
            try LeasesTable.acquire(subscription: subscription, partition: partition, owner: owner, now: now, expiresAt: expiresAt, $0)
        }
    }

    public func releaseLease(_ lease: PartitionLease) async throws {
        try await write { try LeasesTable.release(lease, $0) }
    }

    public func leases(subscription: String) async throws -> [PartitionLease] {
        try read { try LeasesTable.leases(subscription: subscription, $0) }
    }

    // MARK: - Retention

    public func pruneEvents(before position: Int64, recordedBefore: Date, keepingTypes: Set<String>, limit: Int) async throws -> Int {
        try await write { try EventsTable.prune(before: position, recordedBefore: recordedBefore, keepingTypes: keepingTypes, limit: limit, $0) }
    }

    public func pruneInbox(limit: Int) async throws -> Int {
        try await write { try SubscriptionsTable.pruneInbox(limit: limit, $0) }
    }

    public func pruneDocuments(ofType streamType: String, writtenBefore: Date, after cursor: String?, limit: Int) async throws -> (deleted: Int, next: String?) {
        try await write { try AggregatesTable.prune(ofType: streamType, writtenBefore: writtenBefore, after: cursor, limit: limit, $0) }
    }

    // MARK: - Reads, writes and error mapping

    /// Runs `body` on a read connection of its own (see ``ReadConnections``), synchronously
    /// on the calling thread, each statement in its own snapshot.
    ///
    /// Every read here is a statement or two on a local file, which a WAL reader never waits
    /// for a writer to finish: blocking the caller for it costs far less than GRDB's
    /// asynchronous `read`, which hops to a dispatch queue and back (two thread wake-ups per
    /// read; measured with `mall-bench`: server CPU per order 1.73 → 1.43 ms). Writes stay
    /// asynchronous: they queue for the one writer, which may take a while under load.
    ///
    /// So a read never suspends the calling task: a loop that polls with reads until another
    /// task makes progress must `await Task.yield()`, as it would around any synchronous work.
    private func read<T>(_ body: (ReadConnection) throws -> T) throws -> T {
        do {
            return try reads.read(body)
        } catch let error as SQLiteReadError {
            throw Self.mapped(code: error.code, message: error.message, path: path) ?? error
        }
    }

    /// ``read(_:)`` in one read transaction: every statement of `body` sees the same snapshot.
    private func snapshot<T>(_ body: (ReadConnection) throws -> T) throws -> T {
        try read { connection in try connection.transaction { try body(connection) } }
    }

    /// Runs `body` in a write transaction of the store's writer thread, together with the
    /// other writes waiting then (see ``GroupCommitWriter``), and returns once it is committed.
    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.mappingErrors(path: path) { try await writer.write(body) }
    }

    /// Turns SQLite's conditions a caller can act on into ``StoreError``s.
    static func mappingErrors<T>(path: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DatabaseError {
            throw mapped(error, path: path)
        }
    }

    static func mappingErrors<T>(path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            throw mapped(error, path: path)
        }
    }

    private static func mapped(_ error: DatabaseError, path: String) -> any Error {
        mapped(code: error.resultCode.primaryResultCode.rawValue, message: error.message ?? "\(error.resultCode)", path: path) ?? error
    }

    /// The ``StoreError`` for SQLite's (primary or extended) result `code`, when it is one a
    /// caller can act on: read-only, disk full, or an outage (busy, locked, I/O error, out of
    /// memory, a file that cannot be opened or is damaged) that says nothing about the data
    /// and that subscriptions therefore never count against a handler.
    static func mapped(code: Int32, message: String, path: String) -> StoreError? {
        let detail = "\(path): \(message)"
        switch code & 0xff {
        case SQLITE_READONLY, SQLITE_PERM:
            return .readOnly(detail)
        case SQLITE_CANTOPEN where FileManager.default.fileExists(atPath: path):
            return .readOnly(detail)
        case SQLITE_FULL:
            return .diskFull(detail)
        case SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_NOMEM, SQLITE_CANTOPEN, SQLITE_PROTOCOL, SQLITE_CORRUPT, SQLITE_NOTADB:
            return .unavailable(detail)
        default:
            return nil
        }
    }
}

extension SQLiteEventStore: ProjectionStore {
    public func prepareProjection(_ schema: ProjectionSchema) async throws -> ProjectionState {
        if let known = try read({ try ProjectionsTable.state(schema.name, $0) }) { return known }
        return try await write { try ProjectionsTable.prepare(schema, $0) }
    }

    public func projectionState(_ name: String) async throws -> ProjectionState? {
        try read { try ProjectionsTable.state(name, $0) }
    }

    public func projectionVersion(_ name: String) async throws -> ProjectionVersion? {
        try read { try ProjectionsTable.version(name, $0) }
    }

    public func beginProjectionBuild(_ schema: ProjectionSchema) async throws -> ProjectionState {
        try await write { try ProjectionsTable.beginBuild(schema, $0) }
    }

    public func completeProjectionBuild(_ schema: ProjectionSchema, generation: Int) async throws {
        try await write { try ProjectionsTable.completeBuild(schema, generation: generation, $0) }
        commitSignal.notify()
    }

    public func projectionRows(_ table: ProjectionTable, physical: String, query: ProjectionQuery) async throws -> [ProjectionRow] {
        try read { try ProjectionsTable.rows(table, physical: physical, query: query, $0) }
    }

    public func projectionCount(_ table: ProjectionTable, physical: String, query: ProjectionQuery) async throws -> Int {
        try read { try ProjectionsTable.count(table, physical: physical, query: query, $0) }
    }
}

extension SQLiteEventStore: AnnouncingStore {
    /// Nothing to pass on: one process serves a SQLite file (the engine has woken this
    /// process's followers already).
    public func announce(_ topic: String) async throws {}
}
