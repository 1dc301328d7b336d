import Foundation

/// One use case's changes: the aggregates it loaded and changed, the events they recorded,
/// and the messages it scheduled or cancelled.
///
/// Nothing is written before ``commit()``. Commit opens one transaction that writes every
/// changed aggregate with an optimistic version check, appends all recorded events in the
/// order they were recorded, stores scheduled messages and cancellations — or, when any
/// aggregate changed since it was loaded, writes nothing and throws ``ConcurrencyConflict``.
///
/// ```swift
/// let work = engine.unitOfWork()
/// var cart = try await work.load(Cart.self, id: "c-1") ?? Cart(id: "c-1")
/// try cart.add(sku: "tea", quantity: 2)
/// try work.save(&cart)
/// try await work.commit()
/// ```
///
/// A unit of work belongs to one task; it is not `Sendable`.
public final class UnitOfWork {
    /// Where new events come from: copied onto every event this unit of work appends.
    public struct Cause: Sendable, Hashable {
        public var causationID: UUID?
        public var correlationID: UUID?
        public var traceparent: String?
        public var metadata: [String: String]

        public init(causationID: UUID? = nil, correlationID: UUID? = nil, traceparent: String? = nil, metadata: [String: String] = [:]) {
            self.causationID = causationID
            self.correlationID = correlationID
            self.traceparent = traceparent
            self.metadata = metadata
        }

        /// The cause a unit of work takes when it is given none: an application binds it
        /// around a request's work (`Cause.$current.withValue(…)`, the request's id as the
        /// correlation), and a subscription worker around each handler call (the event
        /// handled), so that work done through services that open their own units of work
        /// keeps its cause.
        @TaskLocal public static var current = Cause()

        /// The cause of events a subscription's handler records while handling `event`, as
        /// ``init(handling:)``, and saying who recorded them in their metadata
        /// (``HandlingMetadata``): the subscription, the attempt (1 for the first), and
        /// since when the event had been failing, if it had (a retry, or a replayed dead letter).
        public static func handling(_ event: EventEnvelope, by subscription: String, attempt: Int, failingSince: Date?) -> Cause {
            var cause = Cause(handling: event)
            cause.metadata[HandlingMetadata.subscription] = subscription
            cause.metadata[HandlingMetadata.attempt] = String(attempt)
            if let failingSince { cause.metadata[HandlingMetadata.failingSince] = failingSince.formatted(.iso8601) }
            return cause
        }

        /// The cause of events produced while handling `event`: it is their causation, and
        /// its correlation (or itself) is theirs.
        public init(handling event: EventEnvelope) {
            self.init(
                causationID: event.eventID, correlationID: event.correlationID ?? event.eventID,
                traceparent: event.traceparent, metadata: [:])
        }
    }

    /// The metadata keys with which a handler's events say who recorded them.
    public enum HandlingMetadata {
        public static let subscription = "herald.subscription"
        public static let attempt = "herald.attempt"
        /// ISO 8601: when the handled event first failed, if it did.
        public static let failingSince = "herald.failing_since"
    }

    /// An aggregate saved in this unit of work: kept as a value, encoded once at commit.
    struct StagedAggregate {
        var value: any AggregateRoot
        var expectedVersion: Int64
    }

    struct Staged {
        var aggregateOrder: [StreamID] = []
        var aggregates: [StreamID: StagedAggregate] = [:]
        var events: [NewEvent] = []
        var scheduled: [String: ScheduledMessage] = [:]
        var cancelled: [String] = []
        /// Projection row changes, in order, and each touched row's latest state (`nil`:
        /// deleted), which reads within the batch see.
        var projectionWrites: [ProjectionWrite] = []
        var projectionRows: [ProjectionRowKey: [String: ProjectionValue]?] = [:]
        /// Rows as the store held them when a handler read them (`nil`: none). Facts about
        /// the store, so a savepoint's rollback keeps them; the batch commits only if no
        /// other worker moved the checkpoint, so no one else changed them meanwhile.
        var storedProjectionRows: [ProjectionRowKey: [String: ProjectionValue]?] = [:]

        var isEmpty: Bool { aggregates.isEmpty && events.isEmpty && scheduled.isEmpty && cancelled.isEmpty && projectionWrites.isEmpty }
    }

    /// A row of a physical projection table.
    struct ProjectionRowKey: Hashable {
        var table: String
        var key: [ProjectionValue]
    }

    let store: any ChangesetCommitting & AggregateDocuments & ProjectionStore
    let clock: any HeraldClock
    /// The random part of new events' ids.
    let random: any RandomSource
    let cache: AggregateCache?
    let metrics: HeraldMetrics?
    let tracing: HeraldTracing?
    /// Applied to events appended from now on.
    public var cause: Cause
    private var loadedVersions: [StreamID: Int64] = [:]
    /// Documents read ahead by ``prefetch(_:ids:)`` (`nil`: the aggregate does not exist),
    /// used by the first ``load(_:id:)`` of each.
    private var prefetched: [StreamID: StoredAggregate?] = [:]
    private var staged = Staged()
    /// What the open savepoint needs to undo, if one is open.
    private var journal: Journal?

    /// How to return to the moment ``beginSavepoint()`` was called: the lengths of the
    /// append-only lists then, and what each key held before the savepoint first changed it.
    /// (Copying ``Staged`` instead cost a copy of every staged item per handled event: a
    /// batch's cost grew with the square of its length.)
    private struct Journal {
        var eventCount: Int
        var aggregateOrderCount: Int
        var projectionWriteCount: Int
        var aggregates: [StreamID: StagedAggregate?] = [:]
        var scheduled: [String: ScheduledMessage?] = [:]
        var cancelled: [String]?
        var projectionRows: [ProjectionRowKey: [String: ProjectionValue]??] = [:]
    }

    /// - Parameter store: where aggregates are loaded from and the commit goes.
    /// - Parameter clock: what stamps the events and scheduled messages.
    /// - Parameter cause: the event or request this work answers (its correlation and trace).
    /// - Parameter cache: decoded aggregates to reuse across units of work (an engine's
    ///   units of work share one); `nil` decodes every load.
    /// - Parameter metrics: where commits are counted, if anywhere.
    /// - Parameter tracing: when given, commits are spans, and each event carries the trace
    ///   of the span it is recorded in (else its cause's `traceparent`).
    /// - Parameter random: the random part of new events' ids.
    public init(
        store: any ChangesetCommitting & AggregateDocuments & ProjectionStore, clock: any HeraldClock, cause: Cause = .current, cache: AggregateCache? = nil, metrics: HeraldMetrics? = nil,
        tracing: HeraldTracing? = nil, random: any RandomSource = SystemRandomSource()
    ) {
        self.random = random
        self.metrics = metrics
        self.tracing = tracing
        self.store = store
        self.clock = clock
        self.cause = cause
        self.cache = cache
    }

    /// Whether anything is waiting to be committed.
    public var hasChanges: Bool { !staged.isEmpty }

    /// Loads an aggregate, as this unit of work last saved it or else as stored.
    ///
    /// - Returns: `nil` when no such aggregate exists.
    /// - Throws: ``AggregateDecodingError`` when the stored document does not decode.
    public func load<A: AggregateRoot>(_ type: A.Type, id: String) async throws -> A? {
        let stream = StreamID(type: A.streamType, id: id)
        if let saved = staged.aggregates[stream] {
            guard let value = saved.value as? A else {
                throw AggregateDecodingError(
                    stream: stream, version: saved.expectedVersion + 1, detail: "saved as \(Swift.type(of: saved.value)), loaded as \(A.self)")
            }
            return value
        }
        let read = if let ahead = prefetched.removeValue(forKey: stream) { ahead } else { try await store.aggregate(stream) }
        guard let stored = read else {
            loadedVersions[stream] = 0
            return nil
        }
        loadedVersions[stream] = stored.version
        if let cached = cache?.value(A.self, stream: stream, version: stored.version, state: stored.state) { return cached }
        let value = try decode(A.self, stream: stream, version: stored.version, state: stored.state)
        cache?.store(value, stream: stream, version: stored.version, state: stored.state)
        return value
    }

    /// Reads the documents of the aggregates of type `A` with `ids` in one store read, for
    /// the ``load(_:id:)`` calls that follow: a page of a report checks hundreds of
    /// aggregates, and on a store across a network one round trip each is the cost.
    /// Versions are checked at commit as for any load.
    public func prefetch<A: AggregateRoot>(_ type: A.Type, ids: [String]) async throws {
        let streams = ids.map { StreamID(type: A.streamType, id: $0) }.filter { staged.aggregates[$0] == nil && loadedVersions[$0] == nil }
        guard !streams.isEmpty else { return }
        let found = try await store.aggregates(streams)
        for stream in streams { prefetched[stream] = .some(found[stream]) }
    }

    /// Stages the aggregate's new state and its recorded events, then empties its
    /// ``AggregateRoot/pendingEvents``.
    ///
    /// The version check at commit uses the version seen by ``load(_:id:)``; an aggregate
    /// that was not loaded must not exist yet.
    public func save<A: AggregateRoot>(_ aggregate: inout A) throws {
        let stream = aggregate.stream
        for pending in aggregate.pendingEvents.events {
            try appendPending(pending.event, to: stream, metadata: pending.metadata)
        }
        aggregate.pendingEvents = PendingEvents()
        if journal != nil, journal?.aggregates[stream] == nil { journal?.aggregates[stream] = .some(staged.aggregates[stream]) }
        if staged.aggregates[stream] == nil { staged.aggregateOrder.append(stream) }
        staged.aggregates[stream] = StagedAggregate(value: aggregate, expectedVersion: loadedVersions[stream] ?? 0)
    }

    /// Appends an event to a stream without an aggregate document (a process or an
    /// integration stream).
    public func append<E: DomainEvent>(_ event: E, to stream: StreamID, metadata: [String: String] = [:]) throws {
        staged.events.append(try newEvent(event, stream: stream, metadata: metadata))
    }

    /// Schedules `event` to be appended to `stream` at `dueAt`, unless cancelled first.
    ///
    /// Stored with this unit of work's commit; a message already scheduled under `key` is
    /// replaced.
    public func schedule<E: DomainEvent>(_ event: E, to stream: StreamID, at dueAt: Date, key: String) throws {
        let message = ScheduledMessage(key: key, event: try newEvent(event, stream: stream, metadata: [:]), dueAt: dueAt)
        journalSchedule(key, changingCancellations: staged.cancelled.contains(key))
        staged.cancelled.removeAll { $0 == key }
        staged.scheduled[key] = message
    }

    /// Notes what the open savepoint must restore before the scheduled message `key` (and,
    /// when `changingCancellations`, the list of cancellations) changes.
    private func journalSchedule(_ key: String, changingCancellations: Bool) {
        guard journal != nil else { return }
        if journal?.scheduled[key] == nil { journal?.scheduled[key] = .some(staged.scheduled[key]) }
        if changingCancellations, journal?.cancelled == nil { journal?.cancelled = staged.cancelled }
    }

    /// Cancels the scheduled message with this key when this unit of work commits.
    /// Once that commit succeeded, the message is never delivered.
    public func cancelScheduledMessage(key: String) {
        journalSchedule(key, changingCancellations: true)
        staged.scheduled[key] = nil
        staged.cancelled.append(key)
    }

    /// Writes everything staged in one transaction.
    ///
    /// After a successful commit the unit of work is empty and may be used again, with
    /// the versions it just wrote as its new expectations.
    /// - Returns: the appended events, as stored.
    /// - Throws: ``ConcurrencyConflict`` (nothing written) or a storage error.
    @discardableResult
    public func commit() async throws -> [EventEnvelope] {
        guard hasChanges else { return [] }
        let changeset = try makeChangeset(recordedAt: clock.now())
        let recorded = if let tracing {
            try await tracing.withSpan("herald.commit", attributes: ["herald.events": .int64(Int64(changeset.events.count))]) {
                try await store.commit(changeset, countedAs: .unitOfWork, in: metrics)
            }
        } else {
            try await store.commit(changeset, countedAs: .unitOfWork, in: metrics)
        }
        for write in changeset.aggregates {
            loadedVersions[write.stream] = write.newVersion
            if let saved = staged.aggregates[write.stream] { cache?.store(saved.value, stream: write.stream, version: write.newVersion, state: write.state) }
        }
        staged = Staged()
        journal = nil
        return recorded
    }

    /// Discards everything staged since the last commit.
    public func rollback() {
        for stream in staged.aggregateOrder { loadedVersions[stream] = nil }
        staged = Staged()
        journal = nil
    }

    // MARK: Savepoints (one handler's changes within a subscription's batch)

    /// Marks the current staged changes, so that ``rollbackToSavepoint()`` can drop what is
    /// staged after this. Replaces an open savepoint.
    func beginSavepoint() {
        journal = Journal(
            eventCount: staged.events.count, aggregateOrderCount: staged.aggregateOrder.count,
            projectionWriteCount: staged.projectionWrites.count)
    }

    /// Drops what was staged since ``beginSavepoint()`` and closes the savepoint.
    func rollbackToSavepoint() {
        guard let journal else { return }
        staged.events.removeSubrange(journal.eventCount...)
        staged.aggregateOrder.removeSubrange(journal.aggregateOrderCount...)
        for (stream, before) in journal.aggregates { staged.aggregates[stream] = before }
        for (key, before) in journal.scheduled { staged.scheduled[key] = before }
        if let cancelled = journal.cancelled { staged.cancelled = cancelled }
        staged.projectionWrites.removeSubrange(journal.projectionWriteCount...)
        for (row, before) in journal.projectionRows { staged.projectionRows[row] = before }
        self.journal = nil
    }

    /// Keeps what was staged since ``beginSavepoint()`` and closes the savepoint.
    func releaseSavepoint() {
        journal = nil
    }

    /// The changeset a commit would write now; each saved aggregate is encoded here, once.
    func makeChangeset(recordedAt: Date) throws -> Changeset {
        var changeset = Changeset(recordedAt: recordedAt)
        changeset.aggregates = try staged.aggregateOrder.compactMap { stream in
            guard let saved = staged.aggregates[stream] else { return nil }
            return AggregateWrite(stream: stream, expectedVersion: saved.expectedVersion, state: try Self.encode(saved.value))
        }
        changeset.events = staged.events
        changeset.scheduled = staged.scheduled.values.sorted { $0.key < $1.key }
        changeset.cancelledSchedules = staged.cancelled
        changeset.projectionWrites = staged.projectionWrites
        return changeset
    }

    // MARK: Projection rows (see ``ProjectionRows``)

    /// The row as this unit of work left it, else as stored.
    func projectionRow(_ table: ProjectionTable, physical: String, key: [ProjectionValue]) async throws -> ProjectionRow? {
        let rowKey = ProjectionRowKey(table: physical, key: key)
        if let known = staged.projectionRows[rowKey] ?? staged.storedProjectionRows[rowKey] {
            return known.map { ProjectionRow(table: table.name, values: $0) }
        }
        let projections: any ProjectionStore = store
        var query = ProjectionQuery(table.name)
        for (column, value) in zip(table.primaryKey, key) { query = query.where(.equals(column, value)) }
        let row = try await projections.projectionRows(table, physical: physical, query: query).first
        staged.storedProjectionRows[rowKey] = .some(row?.values)
        return row
    }

    /// Stages the row's write: only its changed columns when the row is known to exist (as
    /// stored or as this batch left it), nothing when none changed, else the whole row.
    func stageProjectionUpsert(_ table: ProjectionTable, physical: String, row: [String: ProjectionValue]) {
        let key = table.primaryKey.map { row[$0] ?? .null }
        let rowKey = ProjectionRowKey(table: physical, key: key)
        let before = staged.projectionRows[rowKey] ?? staged.storedProjectionRows[rowKey]
        journalProjectionRow(rowKey)
        staged.projectionRows[rowKey] = .some(row)
        // The store also keeps the words of each full-text column, written with it.
        let stored = table.fullText.isEmpty ? row : table.addingDocuments(to: row)
        if case .some(.some(let previous)) = before {
            let declared = table.columns.map(\.name).filter { previous[$0] != row[$0] }
            guard !declared.isEmpty else { return }
            let changed = declared + table.documentColumns(following: declared)
            staged.projectionWrites.append(
                .update(table: physical, key: table.primaryKey, keyValues: key, columns: changed, values: changed.map { stored[$0] ?? .null }))
        } else {
            let columns = table.storedColumns.map(\.name)
            staged.projectionWrites.append(.upsert(table: physical, columns: columns, values: columns.map { stored[$0] ?? .null }, key: table.primaryKey))
        }
    }

    func stageProjectionDelete(_ table: ProjectionTable, physical: String, key: [ProjectionValue]) {
        journalProjectionRow(ProjectionRowKey(table: physical, key: key))
        staged.projectionRows[ProjectionRowKey(table: physical, key: key)] = .some(nil)
        staged.projectionWrites.append(.delete(table: physical, key: table.primaryKey, values: key))
    }

    private func journalProjectionRow(_ row: ProjectionRowKey) {
        guard journal != nil, journal?.projectionRows[row] == nil else { return }
        journal?.projectionRows[row] = .some(staged.projectionRows[row])
    }

    private static func encode<A: AggregateRoot>(_ aggregate: A) throws -> Data { try HeraldJSON.encode(aggregate) }

    private func appendPending(_ event: some DomainEvent, to stream: StreamID, metadata: [String: String]) throws {
        staged.events.append(try newEvent(event, stream: stream, metadata: metadata))
    }

    private func newEvent<E: DomainEvent>(_ event: E, stream: StreamID, metadata: [String: String]) throws -> NewEvent {
        let now = clock.now()
        var traceparent = cause.traceparent, metadata = cause.metadata.merging(metadata) { _, new in new }
        if let trace = tracing?.currentTrace(), trace.traceparent != nil || !trace.metadata.isEmpty {
            traceparent = trace.traceparent
            metadata.merge(trace.metadata) { _, new in new }
        }
        return NewEvent(
            eventID: UUID.timeOrdered(at: now, random: random), stream: stream, eventType: E.eventType, schemaVersion: E.schemaVersion,
            payload: try HeraldJSON.encode(event), occurredAt: now,
            causationID: cause.causationID, correlationID: cause.correlationID,
            traceparent: traceparent, metadata: metadata)
    }

    private func decode<A: AggregateRoot>(_ type: A.Type, stream: StreamID, version: Int64, state: Data) throws -> A {
        do {
            return try HeraldJSON.decode(A.self, from: state)
        } catch {
            throw AggregateDecodingError(stream: stream, version: version, detail: "\(error)")
        }
    }
}
