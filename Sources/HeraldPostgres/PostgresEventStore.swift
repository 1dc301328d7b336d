import Foundation
import Herald
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import _ConnectionPoolModule

/// An ``EventStore`` in PostgreSQL, through PostgresNIO's pooled `PostgresClient`: the
/// scale-out engine, shared by any number of processes.
///
/// ## Gap-safe reads
///
/// Positions come from an identity column, so they are handed out when a row is inserted,
/// not when its transaction commits: position 7 can become visible after position 8.
/// A reader that moved its checkpoint past 8 would never see 7. Herald therefore records
/// each event's transaction id (`tx_id xid8`) and delivers in `(tx_id, position)` order,
/// reading only rows with `tx_id < pg_snapshot_xmin(pg_current_snapshot())`:
///
/// - every transaction with an id below that horizon has ended, so its events are all
///   visible or never will be;
/// - every transaction that commits later has an id at or above the horizon, so it sorts
///   after everything read so far.
///
/// A checkpoint is still the position of the last delivered event; the reader looks up
/// that event's `tx_id` to continue. Per-stream order also needs transaction ids to follow
/// stream order. A commit therefore first takes an advisory lock on each stream it
/// appends to, before its first write gives it a transaction id (see `CommitFunction`).
///
/// The cost: a long-running transaction elsewhere on the server holds the horizon back and
/// delays delivery (never loses it) until it ends.
///
/// ## Wake-ups
///
/// Every commit that appends events or schedules messages sends `NOTIFY herald_<schema>`.
/// ``run()`` listens on that channel and wakes this process's workers; polling remains the
/// fallback. Run the store next to its client in a `ServiceGroup`:
///
/// ```swift
/// let client = PostgresClient(configuration: try PostgresEventStore.configuration(url: url), backgroundLogger: logger)
/// let store = PostgresEventStore(client: client, logger: logger)
/// let group = ServiceGroup(services: [client, store, try engine.service(subscriptions: subs)], logger: logger)
/// try await store.migrate()   // once the client runs
/// ```
public final class PostgresEventStore: EventStore, AnnouncingStore, EventPruning, Service {
    public struct Options: Sendable, Hashable {
        /// The PostgreSQL schema that holds Herald's tables (created when missing). Lower-case
        /// letters, digits and `_`, starting with a letter or `_`, at most 40 characters.
        public var schema: String
        /// How long the listener waits before listening again after losing its connection.
        public var reconnectDelay: Duration
        /// The longest one store operation (a read, or a whole commit) may take before its
        /// connection is dropped and ``StoreError/unavailable(_:)`` thrown.
        public var operationTimeout: Duration
        /// How long a read waits for older transactions that still run when newer events are
        /// visible already (see "Gap-safe reads"). After that it returns what is safe; the
        /// rest is delivered on a later read.
        public var horizonWait: Duration

        public init(
            schema: String = "herald", reconnectDelay: Duration = .milliseconds(250),
            horizonWait: Duration = .milliseconds(500), operationTimeout: Duration = .seconds(30)
        ) {
            self.schema = schema
            self.operationTimeout = operationTimeout
            self.reconnectDelay = reconnectDelay
            self.horizonWait = horizonWait
        }

        /// - Throws: ``ConfigurationError`` naming the setting.
        public func validate() throws {
            let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_")
            guard let first = schema.first, !first.isNumber, schema.count <= 40, schema.allSatisfy(allowed.contains) else {
                throw ConfigurationError(
                    setting: "PostgresEventStore.Options.schema", value: schema,
                    allowed: "1–40 of a–z, 0–9 and _, not starting with a digit")
            }
            guard operationTimeout > .zero else {
                throw ConfigurationError(
                    setting: "PostgresEventStore.Options.operationTimeout", value: "\(operationTimeout)", allowed: "more than zero")
            }
            for (setting, value) in [("reconnectDelay", reconnectDelay), ("horizonWait", horizonWait)] where value < .zero {
                throw ConfigurationError(setting: "PostgresEventStore.Options.\(setting)", value: "\(value)", allowed: "zero or more")
            }
        }
    }

    /// The pooled client, for applications that keep their own tables in the same database.
    public let client: PostgresClient
    public let options: Options
    public let commitSignal = CommitSignal()
    public let announcements = Announcements()
    let names: PostgresNames
    let logger: Logger

    /// A store on `client`, which the application runs (it is a `Service`).
    ///
    /// - Throws: ``ConfigurationError`` for invalid ``Options``.
    public init(client: PostgresClient, options: Options = Options(), logger: Logger) throws {
        try options.validate()
        self.client = client
        self.options = options
        self.names = PostgresNames(schema: options.schema)
        self.logger = logger
    }

    /// Creates or migrates Herald's tables. Safe to call from several processes at once.
    ///
    /// - Throws: ``StoreError/schemaTooNew(found:supported:)`` for a schema written by a
    ///   newer Herald.
    public func migrate() async throws {
        try await transaction { connection in
            try await PostgresSchema.migrate(self.names, connection, self.logger)
        }
    }

    /// The schema version stored in the database (0 before ``migrate()``).
    public func schemaVersion() async throws -> Int {
        try await onConnection { connection in
            let exists = try await connection.count(
                "SELECT 1 FROM pg_tables WHERE schemaname = \(self.names.schema) AND tablename = 'herald_meta'", self.logger)
            return exists == 0 ? 0 : try await PostgresSchema.storedVersion(self.names, connection, self.logger)
        }
    }

    // MARK: - Writing

    /// Aggregates, events, deliveries and cancellations are written by one `herald_commit(…)`
    /// statement (see `CommitFunction`): a unit of work's or a scheduler's whole commit, one
    /// round trip. Scheduled messages and subscription progress follow it in the same
    /// transaction.
    public func commit(_ changeset: Changeset) async throws -> [EventEnvelope] {
        guard !changeset.isEmpty else { return [] }
        let names = names, logger = logger
        let recorded: [EventEnvelope]
        if CommitFunction.suffices(for: changeset) {
            recorded = try await onConnection { try await CommitFunction.commit(changeset, names, $0, logger) }
        } else if let progress = changeset.subscription, SubscriptionsTable.movesOnlyTheCheckpoint(changeset) {
            // One conditional UPDATE, atomic on its own: no transaction around it, two round
            // trips fewer after every batch of a handler with effects outside the store.
            try await onConnection { try await SubscriptionsTable.apply(progress, at: changeset.recordedAt, names, $0, logger) }
            recorded = []
        } else {
            recorded = try await transaction { connection in
                // First, so that its stream locks come before any write.
                let recorded = CommitFunction.hasWork(in: changeset) ? try await CommitFunction.commit(changeset, names, connection, logger) : []
                for message in changeset.scheduled { try await ScheduledTable.upsert(message, names, connection, logger) }
                if let progress = changeset.subscription {
                    try await SubscriptionsTable.apply(progress, at: changeset.recordedAt, names, connection, logger)
                }
                if let fence = changeset.projectionFence {
                    try await ProjectionsTable.check(fence, counting: !changeset.projectionWrites.isEmpty, names, connection, logger)
                }
                for write in changeset.projectionWrites { try await ProjectionsTable.apply(write, names, connection, logger) }
                // The function announces events, with what they touch; scheduled messages
                // are announced to every waiter (the nodes' message schedulers wait for them).
                if !changeset.scheduled.isEmpty { try await connection.run("SELECT pg_notify(\(names.channel), '')", logger) }
                return recorded
            }
        }
        if changeset.announcesWork { commitSignal.notify(committed: changeset) }
        return recorded
    }

    // MARK: - Reading

    public func aggregate(_ stream: StreamID) async throws -> StoredAggregate? {
        try await onConnection { try await AggregatesTable.fetch(stream, self.names, $0, self.logger) }
    }

    /// One statement for all of them.
    public func aggregates(_ streams: [StreamID]) async throws -> [StreamID: StoredAggregate] {
        guard !streams.isEmpty else { return [:] }
        return try await onConnection { try await AggregatesTable.fetch(streams, self.names, $0, self.logger) }
    }

    /// Events after `position` in delivery order. When later events are visible but an
    /// older transaction still runs, waits for it (up to ``Options/horizonWait``) so that
    /// a reader woken by a commit gets that commit's events.
    public func events(after position: Int64, limit: Int) async throws -> [EventEnvelope] {
        try await waitingForHorizon { connection in
            let read = try await EventsTable.after(position, limit: limit, self.names, connection, self.logger)
            return (read.events, read.pending && read.events.count < limit)
        }
    }

    /// Like ``events(after:limit:)``, reading only matching rows (a partition's streams
    /// through the stored `stream_hash`, wanted types through `event_type`).
    public func events(after position: Int64, limit: Int, matching filter: EventFilter) async throws -> (events: [EventEnvelope], scannedThrough: Int64?) {
        try await waitingForHorizon { connection in
            let read = try await EventsTable.after(position, limit: limit, matching: filter, self.names, connection, self.logger)
            return ((read.events, read.scannedThrough), read.pending && read.events.count < limit)
        }
    }

    public func events(at positions: [Int64]) async throws -> [EventEnvelope] {
        try await onConnection { try await EventsTable.at(positions, self.names, $0, self.logger) }
    }

    /// The last event in delivery order that readers may have; like ``events(after:limit:)``
    /// it waits (up to ``Options/horizonWait``) for older transactions still running.
    public func headPosition() async throws -> Int64 {
        try await waitingForHorizon { connection in
            let head = try await EventsTable.head(self.names, connection, self.logger)
            return (head.position, head.pending)
        }
    }

    public func firstPosition(of stream: StreamID) async throws -> Int64? {
        try await onConnection { try await EventsTable.firstPosition(of: stream, self.names, $0, self.logger) }
    }

    /// Counted in delivery order `(tx_id, position)`: a checkpoint may stand on a higher
    /// position than the head's and still have events to read.
    public func eventsBehind(_ checkpoint: Int64, through head: Int64) async throws -> Int64 {
        guard head > 0, head != checkpoint else { return 0 }
        return try await onConnection { try await EventsTable.count(after: checkpoint, through: head, self.names, $0, self.logger) }
    }

    /// The first in delivery order `(tx_id, position)`; 0 when one of them is 0 or not in
    /// the log.
    public func earliest(of positions: Set<Int64>) async throws -> Int64? {
        guard !positions.isEmpty else { return nil }
        guard !positions.contains(0) else { return 0 }
        return try await onConnection { try await EventsTable.earliest(of: positions, self.names, $0, self.logger) }
    }

    public func checkpoint(of subscription: String, creatingAt initialPosition: Int64) async throws -> Int64 {
        try await onConnection {
            try await SubscriptionsTable.checkpoint(
                of: subscription, creatingAt: initialPosition, at: Date(), self.names, $0, self.logger)
        }
    }

    public func checkpoints() async throws -> [String: Int64] {
        try await onConnection { try await SubscriptionsTable.checkpoints(self.names, $0, self.logger) }
    }

    public func replaceCheckpoints(of subscription: String, expecting current: [String: Int64], with names: [String], at position: Int64) async throws {
        let now = Date()
        try await transaction {
            try await SubscriptionsTable.replaceCheckpoints(
                of: subscription, expecting: current, with: names, at: position, now: now, self.names, $0, self.logger)
        }
    }

    /// The checkpoint (never created here) with the parked events in one statement, then the
    /// events after it: two round trips.
    public func subscriptionRead(
        subscription: String, checkpointName: String, skippedThrough: Int64?, limit: Int, matching filter: EventFilter?
    ) async throws -> SubscriptionRead {
        let (checkpoint, parked) = try await onConnection {
            try await SubscriptionsTable.checkpointAndParked(checkpointName: checkpointName, subscription: subscription, self.names, $0, self.logger)
        }
        guard let checkpoint else { throw StoreError.checkpointRemoved(checkpointName) }
        return try await subscriptionRead(checkpoint: checkpoint, parked: parked, skippedThrough: skippedThrough, limit: limit, matching: filter)
    }

    public func parkedEvents(subscription: String?) async throws -> [ParkedEvent] {
        try await onConnection { try await SubscriptionsTable.parked(subscription: subscription, self.names, $0, self.logger) }
    }

    public func inboxContains(subscription: String, eventID: UUID) async throws -> Bool {
        try await onConnection {
            try await SubscriptionsTable.inboxContains(subscription: subscription, eventID: eventID, self.names, $0, self.logger)
        }
    }

    public func dueScheduledMessages(at date: Date, limit: Int) async throws -> [ScheduledMessage] {
        try await onConnection { try await ScheduledTable.due(at: date, limit: limit, self.names, $0, self.logger) }
    }

    public func nextScheduledDueDate() async throws -> Date? {
        try await onConnection { try await ScheduledTable.nextDueDate(self.names, $0, self.logger) }
    }

    public func scheduledMessageCounts(dueBy date: Date) async throws -> ScheduledMessageCounts {
        try await onConnection { try await ScheduledTable.counts(dueBy: date, self.names, $0, self.logger) }
    }

    public func heartbeat(group: String, node: String, now: Date, expiresAt: Date) async throws -> [String] {
        try await onConnection {
            try await LeasesTable.heartbeat(group: group, node: node, now: now, expiresAt: expiresAt, self.names, $0, self.logger)
        }
    }

    public func acquireLease(subscription: String, partition: Int, owner: String, now: Date, expiresAt: Date) async throws -> PartitionLease? {
        try await onConnection {
            try await LeasesTable.acquire(
                subscription: subscription, partition: partition, owner: owner, now: now, expiresAt: expiresAt, self.names, $0, self.logger)
        }
    }

    public func releaseLease(_ lease: PartitionLease) async throws {
        try await onConnection { try await LeasesTable.release(lease, self.names, $0, self.logger) }
    }

    public func leases(subscription: String) async throws -> [PartitionLease] {
        try await onConnection { try await LeasesTable.leases(subscription: subscription, self.names, $0, self.logger) }
    }

    // MARK: - Retention

    /// Subscriptions read in `(tx_id, position)` order: "before" is in that order, and the
    /// event at `position` must exist (its `tx_id` is the bound). Checkpoints stand on
    /// events that stay, so each reader's next read still finds where it stopped.
    public func pruneEvents(before position: Int64, recordedBefore: Date, keepingTypes: Set<String>, limit: Int) async throws -> Int {
        try await onConnection { connection in
            let events = self.names.events
            return try await connection.count("""
                DELETE FROM \(unescaped: events) WHERE position IN (
                    SELECT e.position FROM \(unescaped: events) e, \(unescaped: events) bound
                    WHERE bound.position = \(position) AND (e.tx_id, e.position) < (bound.tx_id, bound.position)
                        AND e.position < (SELECT max(position) FROM \(unescaped: events))
                        AND e.recorded_at < \(recordedBefore) AND NOT (e.event_type = ANY(\(keepingTypes.sorted())))
                    ORDER BY e.tx_id, e.position LIMIT \(limit))
                RETURNING 1
                """, self.logger)
        }
    }

    public func pruneInbox(limit: Int) async throws -> Int {
        try await onConnection { connection in
            try await connection.count("""
                DELETE FROM \(unescaped: self.names.inbox) WHERE (subscription, event_id) IN (
                    SELECT i.subscription, i.event_id FROM \(unescaped: self.names.inbox) i
                    WHERE NOT EXISTS (SELECT 1 FROM \(unescaped: self.names.events) e WHERE e.event_id = i.event_id) LIMIT \(limit))
                RETURNING 1
                """, self.logger)
        }
    }

    public func pruneDocuments(ofType streamType: String, writtenBefore: Date, after cursor: String?, limit: Int) async throws -> (deleted: Int, next: String?) {
        try await onConnection { connection in
            let aggregates = self.names.aggregates
            // The window, the cursor's comparison and its maximum all use the column's collation (and its index).
            let rows = try await connection.query("""
                WITH batch AS (
                    SELECT stream_id FROM \(unescaped: aggregates)
                    WHERE stream_type = \(streamType) AND (\(cursor)::text IS NULL OR stream_id > \(cursor))
                    ORDER BY stream_id LIMIT \(limit)),
                deleted AS (
                    DELETE FROM \(unescaped: aggregates) a USING batch
                    WHERE a.stream_type = \(streamType) AND a.stream_id = batch.stream_id AND a.updated_at < \(writtenBefore)
                    RETURNING 1)
                SELECT (SELECT count(*) FROM deleted), (SELECT count(*) FROM batch), (SELECT max(stream_id) FROM batch)
                """, logger: self.logger)
            for try await (deleted, looked, last) in rows.decode((Int64, Int64, String?).self) {
                return (Int(deleted), looked < limit ? nil : last)
            }
            return (0, nil)
        }
    }

    /// Runs `attempt` until it reports nothing pending, or ``Options/horizonWait`` has passed;
    /// returns its last value. Backs off from 1 ms to 20 ms between attempts.
    private func waitingForHorizon<T: Sendable>(_ attempt: @escaping @Sendable (PostgresConnection) async throws -> (T, pending: Bool)) async throws -> T {
        let deadline = ContinuousClock.now + options.horizonWait
        // The transaction in the way is mostly a commit a millisecond or two from its end
        // (its WAL flush): look again soon, then back off.
        var pause = Duration.microseconds(250)
        while true {
            let (value, pending) = try await onConnection(attempt)
            if !pending || ContinuousClock.now >= deadline { return value }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(20))
        }
    }

    /// One pooled connection in a transaction, committed when `body` returns and rolled back
    /// when it throws. When the rollback itself fails the connection is closed (the server
    /// then rolls back), so it never returns to the pool inside a transaction.
    private func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = logger
        return try await onConnection { connection in
            try await connection.run("BEGIN", logger)
            do {
                let value = try await body(connection)
                try await connection.run("COMMIT", logger)
                return value
            } catch {
                do { try await connection.run("ROLLBACK", logger) } catch {
                    logger.debug("herald: rollback failed; closing the connection", metadata: ["error": "\(error)"])
                    try? await connection.close()
                }
                throw error
            }
        }
    }

    /// One pooled connection in autocommit mode: each statement sees its own fresh snapshot.
    ///
    /// Bounded by ``Options/operationTimeout``, waiting for a pooled connection included:
    /// PostgresNIO 1.33 can leave a query, or a lease, waiting forever (seen after a server
    /// restart). On timeout ``StoreError/unavailable(_:)`` is thrown, the connection (if
    /// one was leased) is closed, and an operation that only now gets its connection does
    /// nothing, so a caller that retries never races a late copy of its first attempt.
    private func onConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let timeout = options.operationTimeout, client = client
        let operation = BoundedOperation<T>()
        var tasks: [Task<Void, Never>] = []
        defer { for task in tasks { task.cancel() } }
        return try await withCheckedThrowingContinuation { continuation in
            operation.start(continuation)
            tasks.append(Task {
                do {
                    let value = try await client.withConnection { connection in
                        guard operation.leased(connection) else {
                            throw StoreError.unavailable("gave up before a connection was free")
                        }
                        return try await body(connection)
                    }
                    operation.finish(.success(value))
                } catch {
                    operation.finish(.failure(Self.outage(error) ?? error))
                }
            })
            tasks.append(Task {
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                let connection = operation.abandon()
                operation.finish(.failure(StoreError.unavailable("no answer from PostgreSQL within \(timeout)")))
                try? await connection?.close()  // fails whatever a stuck query waits for
            })
        }
    }

    /// ``StoreError/unavailable(_:)`` for errors that say the server or the connection
    /// failed, not the data: a lost or refused connection, a pool that gave up connecting, a server shutting down or out of
    /// resources (SQLSTATE classes 08, 53, 57, 58), a serialization failure or deadlock the
    /// server aborted (40001, 40P01), a lock it could not get (55P03). Subscriptions never
    /// count these against a handler.
    static func outage(_ error: any Error) -> StoreError? {
        if let pool = error as? ConnectionPoolError {
            // The pool gave up connecting (its circuit breaker), or is shut down.
            return .unavailable("PostgreSQL connection pool: \(pool)")
        }
        guard let error = error as? PSQLError else { return nil }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed, .queryCancelled:
            return .unavailable("PostgreSQL connection: \(error.code)")
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            let transient = ["08", "53", "57", "58"].contains(String(state.prefix(2))) || ["40001", "40P01", "55P03"].contains(state)
            guard transient else { return nil }
            return .unavailable("PostgreSQL \(state): \(error.serverInfo?[.message] ?? "")")
        default:
            return nil
        }
    }

    // MARK: - Listening

    /// Sends `topic` on the store's channel (`NOTIFY`), which every process's ``run()``
    /// hears and delivers to its ``announcements``.
    public func announce(_ topic: String) async throws {
        try Announcements.validate(topic)
        let channel = names.channel
        try await onConnection { try await $0.run("SELECT pg_notify(\(channel), \(topic))", self.logger) }
    }

    /// Listens for commits of other processes and wakes this process's workers, until
    /// cancelled or a graceful shutdown. After a lost connection (a server restart, say) it
    /// listens again after ``Options/reconnectDelay``, and wakes the workers once in case a
    /// notification was missed in between.
    public func run() async throws {
        let channel = names.channel
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.client.withConnection { connection in
                        try await connection.listen(on: channel) { notifications in
                            // Anything committed or announced while we were not listening.
                            self.commitSignal.notify()
                            self.announcements.deliverAll()
                            for try await notification in notifications {
                                // Commits notify with what they appended (`|types|hashes`) or
                                // without a payload; announcements with their topic.
                                if notification.payload.isEmpty {
                                    self.commitSignal.notify()
                                } else if let touch = CommitTouch(payload: notification.payload) {
                                    self.commitSignal.notify(touch)
                                } else {
                                    self.announcements.deliver(notification.payload)
                                }
                            }
                        }
                    }
                } catch {
                    if Task.isCancelled { break }
                    self.logger.warning("herald: listening on \(channel) failed; retrying", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: self.options.reconnectDelay)
            }
        }
    }
}

/// One store operation racing its timeout: whichever finishes first resumes the caller.
final class BoundedOperation<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var connection: PostgresConnection?
        var abandoned = false
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    /// Records the leased connection; `false` when the caller has given up already.
    func leased(_ connection: PostgresConnection) -> Bool {
        state.withLock { state in
            state.connection = connection
            return !state.abandoned
        }
    }

    /// Marks the operation abandoned; returns its connection, if it has one.
    func abandon() -> PostgresConnection? {
        state.withLock { state in
            state.abandoned = true
            return state.connection
        }
    }

    /// Resumes the caller, once.
    func finish(_ result: Result<T, any Error>) {
        state.withLock { state -> CheckedContinuation<T, any Error>? in
            defer { state.continuation = nil }
            return state.continuation
        }?.resume(with: result)
    }
}

extension PostgresEventStore: ProjectionStore {
    public func prepareProjection(_ schema: ProjectionSchema) async throws -> ProjectionState {
        if let known = try await projectionState(schema.name) { return known }
        let names = names, logger = logger
        return try await transaction { try await ProjectionsTable.prepare(schema, names, $0, logger) }
    }

    public func projectionState(_ name: String) async throws -> ProjectionState? {
        let names = names, logger = logger
        return try await onConnection { try await ProjectionsTable.state(name, names, $0, logger) }
    }

    /// One query: readers call it per request.
    public func projectionVersion(_ name: String) async throws -> ProjectionVersion? {
        let names = names, logger = logger
        return try await onConnection { try await ProjectionsTable.version(name, names, $0, logger) }
    }

    public func beginProjectionBuild(_ schema: ProjectionSchema) async throws -> ProjectionState {
        let names = names, logger = logger
        return try await transaction { try await ProjectionsTable.beginBuild(schema, names, $0, logger) }
    }

    public func completeProjectionBuild(_ schema: ProjectionSchema, generation: Int) async throws {
        let names = names, logger = logger
        try await transaction { try await ProjectionsTable.completeBuild(schema, generation: generation, names, $0, logger) }
        commitSignal.notify()
    }

    public func projectionRows(_ table: ProjectionTable, physical: String, query: ProjectionQuery) async throws -> [ProjectionRow] {
        let names = names, logger = logger
        return try await onConnection { try await ProjectionsTable.rows(table, physical: physical, query: query, names, $0, logger) }
    }

    public func projectionCount(_ table: ProjectionTable, physical: String, query: ProjectionQuery) async throws -> Int {
        let names = names, logger = logger
        return try await onConnection { try await ProjectionsTable.count(table, physical: physical, query: query, names, $0, logger) }
    }
}
