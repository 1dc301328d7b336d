import Foundation
import Herald
import Synchronization

/// An ``EventStore`` in memory: fast, deterministic, and held to the same conformance suite
/// as the durable stores. For tests and simulations; nothing survives the process.
public final class InMemoryEventStore: EventStore {
    private struct State {
        /// The log by position (`events[p - 1]`); a pruned event leaves `nil` in its place.
        var events: [EventEnvelope?] = []
        /// When each aggregate's document was last written (what document pruning reads).
        var written: [StreamID: Date] = [:]
        var streamVersions: [StreamID: Int64] = [:]
        var eventIDs: Set<UUID> = []
        var aggregates: [StreamID: StoredAggregate] = [:]
        var checkpoints: [String: Int64] = [:]
        var parked: [String: [Int64: ParkedEvent]] = [:]
        var inbox: [String: Set<UUID>] = [:]
        var scheduled: [String: ScheduledMessage] = [:]
        var leases: [String: [Int: PartitionLease]] = [:]
        var nodes: [String: [String: Date]] = [:]
        var projections: [String: ProjectionState] = [:]
        /// Commits that changed each projection's rows.
        var projectionChanges: [String: Int64] = [:]
        /// Rows of each physical projection table, by primary key.
        var projectionTables: [String: [[ProjectionValue]: [String: ProjectionValue]]] = [:]
    }

    /// The kinds of operation ``simulateOutage(of:error:)`` can make fail.
    public enum Operation: Sendable, Hashable, CaseIterable {
        case commit
        /// ``aggregate(_:)``: what a handler's `work.load` reads.
        case aggregateRead
        /// Reads of the log: events by position or stream, the head.
        case logRead
        /// Checkpoints, parked events and the inbox.
        case subscriptionRead
        case scheduleRead
        case lease
    }

    private let state = Mutex(State())
    private let outage = Mutex<(operations: Set<Operation>, error: StoreError)?>(nil)
    public let commitSignal = CommitSignal()
    /// Only this process opens an in-memory store: announcements reach its own followers.
    public let announcements = Announcements()

    public init() {}

    /// Rehearses an outage: until ``endOutage()``, every operation of `operations` throws
    /// `error` and changes nothing, as a durable store does when its database is unreachable.
    public func simulateOutage(of operations: Set<Operation> = Set(Operation.allCases), error: StoreError = .unavailable("simulated outage")) {
        outage.withLock { $0 = (operations, error) }
    }

    /// Ends a ``simulateOutage(of:error:)``.
    public func endOutage() {
        outage.withLock { $0 = nil }
    }

    private func withState<T>(_ body: (inout State) throws -> T) rethrows -> T {
        try state.withLock { try body(&$0) }
    }

    private func check(_ operation: Operation) throws {
        if let failure = outage.withLock({ $0 }), failure.operations.contains(operation) { throw failure.error }
    }

    public func commit(_ changeset: Changeset) async throws -> [EventEnvelope] {
        try check(.commit)
        let recorded = try state.withLock { state -> [EventEnvelope] in
            var next = state  // apply to a copy: all or nothing
            for write in changeset.aggregates {
                let current = next.aggregates[write.stream]?.version
                guard (current ?? 0) == write.expectedVersion else {
                    throw ConcurrencyConflict(stream: write.stream, expectedVersion: write.expectedVersion, actualVersion: current)
                }
                next.aggregates[write.stream] = StoredAggregate(stream: write.stream, version: write.newVersion, state: write.state)
                next.written[write.stream] = changeset.recordedAt
            }
            for key in changeset.deliveredSchedules {
                guard next.scheduled.removeValue(forKey: key) != nil else { throw StoreError.scheduledMessageGone(key: key) }
            }
            for key in changeset.cancelledSchedules { next.scheduled[key] = nil }
            for message in changeset.scheduled { next.scheduled[message.key] = message }
            if let progress = changeset.subscription {
                if let fence = progress.fence {
                    let current = next.leases[fence.subscription]?[fence.partition]
                    guard current?.owner == fence.owner, current?.token == fence.token else {
                        throw StoreError.leaseLost(subscription: fence.subscription, partition: fence.partition)
                    }
                }
                if let move = progress.checkpoint {
                    let found = next.checkpoints[progress.checkpointName]
                    guard found == move.from else {
                        throw StoreError.checkpointMoved(subscription: progress.checkpointName, expected: move.from, found: found)
                    }
                    next.checkpoints[progress.checkpointName] = move.to
                }
                for expected in progress.expectedParked {
                    guard next.parked[progress.subscription]?[expected.position]?.seen == expected else {
                        throw StoreError.parkedEventChanged(subscription: progress.subscription, position: expected.position)
                    }
                }
                for position in progress.unpark { next.parked[progress.subscription]?[position] = nil }
                for entry in progress.park { next.parked[progress.subscription, default: [:]][entry.position] = entry }
                next.inbox[progress.subscription, default: []].formUnion(progress.inbox)
            }
            if let fence = changeset.projectionFence {
                let state = next.projections[fence.projection]
                guard state?.serving.number == fence.generation || state?.building?.number == fence.generation else {
                    throw StoreError.projectionGenerationGone(projection: fence.projection, generation: fence.generation)
                }
            }
            for write in changeset.projectionWrites { try Self.apply(write, to: &next) }
            if let fence = changeset.projectionFence, !changeset.projectionWrites.isEmpty { next.projectionChanges[fence.projection, default: 0] += 1 }
            var recorded: [EventEnvelope] = []
            for event in changeset.events {
                guard next.eventIDs.insert(event.eventID).inserted else {
                    throw StoreError.duplicateEventID(event.eventID)
                }
                let version = next.streamVersions[event.stream, default: 0] + 1
                next.streamVersions[event.stream] = version
                let envelope = event.recorded(streamVersion: version, position: Int64(next.events.count + 1), at: changeset.recordedAt)
                next.events.append(envelope)
                recorded.append(envelope)
            }
            state = next
            return recorded
        }
        if changeset.announcesWork { commitSignal.notify(committed: changeset, at: recorded.positionRange) }
        return recorded
    }

    public func aggregate(_ stream: StreamID) async throws -> StoredAggregate? {
        try check(.aggregateRead)
        return state.withLock { $0.aggregates[stream] }
    }

    public func events(after position: Int64, limit: Int) async throws -> [EventEnvelope] {
        try check(.logRead)
        return state.withLock { state in
            let start = Int(max(0, min(position, Int64(state.events.count))))
            return Array(state.events[start...].lazy.compactMap { $0 }.prefix(limit))
        }
    }

    public func events(at positions: [Int64]) async throws -> [EventEnvelope] {
        try check(.logRead)
        return state.withLock { state in
            positions.sorted().compactMap { position in
                position >= 1 && position <= state.events.count ? state.events[Int(position) - 1] : nil as EventEnvelope?
            }
        }
    }

    public func headPosition() async throws -> Int64 {
        try check(.logRead)
        return state.withLock { Int64($0.events.count) }
    }

    public func firstPosition(of stream: StreamID) async throws -> Int64? {
        try check(.logRead)
        return state.withLock { $0.events.lazy.compactMap { $0 }.first { $0.stream == stream }?.position }
    }

    public func checkpoint(of subscription: String, creatingAt initialPosition: Int64) async throws -> Int64 {
        try check(.subscriptionRead)
        return state.withLock { state in
            if let checkpoint = state.checkpoints[subscription] { return checkpoint }
            state.checkpoints[subscription] = initialPosition
            return initialPosition
        }
    }

    public func checkpoints() async throws -> [String: Int64] {
        try check(.subscriptionRead)
        return state.withLock { $0.checkpoints }
    }

    public func replaceCheckpoints(of subscription: String, expecting current: [String: Int64], with names: [String], at position: Int64) async throws {
        try check(.commit)
        try state.withLock { state in
            let found = state.checkpoints.filter { Self.belongs($0.key, to: subscription) }
            guard found == current else { throw StoreError.checkpointsDiffer(found: found, expected: current, subscription: subscription) }
            for name in found.keys { state.checkpoints[name] = nil }
            for name in names { state.checkpoints[name] = position }
        }
    }

    public func parkedEvents(subscription: String?) async throws -> [ParkedEvent] {
        try check(.subscriptionRead)
        return state.withLock { state in
            state.parked
                .filter { subscription == nil || $0.key == subscription }
                .flatMap(\.value.values)
                .sorted { ($0.subscription, $0.position) < ($1.subscription, $1.position) }
        }
    }

    public func inboxContains(subscription: String, eventID: UUID) async throws -> Bool {
        try check(.subscriptionRead)
        return state.withLock { $0.inbox[subscription]?.contains(eventID) ?? false }
    }

    public func dueScheduledMessages(at date: Date, limit: Int) async throws -> [ScheduledMessage] {
        try check(.scheduleRead)
        return state.withLock { state in
            Array(state.scheduled.values.filter { $0.dueAt <= date }.sorted { ($0.dueAt, $0.key) < ($1.dueAt, $1.key) }.prefix(limit))
        }
    }

    public func nextScheduledDueDate() async throws -> Date? {
        try check(.scheduleRead)
        return state.withLock { $0.scheduled.values.map(\.dueAt).min() }
    }

    public func scheduledMessageCounts(dueBy date: Date) async throws -> ScheduledMessageCounts {
        try check(.scheduleRead)
        return state.withLock { state in
            ScheduledMessageCounts(pending: state.scheduled.count, due: state.scheduled.values.count { $0.dueAt <= date })
        }
    }

    public func heartbeat(group: String, node: String, now: Date, expiresAt: Date) async throws -> [String] {
        try check(.lease)
        return state.withLock { state in
            state.nodes[group, default: [:]][node] = expiresAt
            state.nodes[group] = state.nodes[group]?.filter { $0.value > now }
            return state.nodes[group, default: [:]].keys.sorted()
        }
    }

    public func acquireLease(subscription: String, partition: Int, owner: String, now: Date, expiresAt: Date) async throws -> PartitionLease? {
        try check(.lease)
        return state.withLock { state in
            let current = state.leases[subscription]?[partition]
            let token: Int64
            switch current {
            case nil: token = 1
            case let lease? where lease.owner == owner && lease.expiresAt > now: token = lease.token
            case let lease? where lease.expiresAt <= now: token = lease.token + 1
            default: return nil
            }
            let lease = PartitionLease(subscription: subscription, partition: partition, owner: owner, token: token, expiresAt: expiresAt)
            state.leases[subscription, default: [:]][partition] = lease
            return lease
        }
    }

    public func releaseLease(_ lease: PartitionLease) async throws {
        try check(.lease)
        state.withLock { state in
            guard let current = state.leases[lease.subscription]?[lease.partition],
                current.owner == lease.owner, current.token == lease.token
            else { return }
            state.leases[lease.subscription]?[lease.partition]?.expiresAt = Date(timeIntervalSince1970: 0)
        }
    }

    private static func apply(_ write: ProjectionWrite, to state: inout State) throws {
        switch write {
        case .upsert(let table, let columns, let values, let key):
            guard state.projectionTables[table] != nil else { throw ProjectionError.unknownTable(projection: "?", table: table) }
            let row = Dictionary(uniqueKeysWithValues: zip(columns, values))
            state.projectionTables[table]?[key.map { row[$0] ?? .null }] = row
        case .update(let table, _, let keyValues, let columns, let values):
            guard state.projectionTables[table] != nil else { throw ProjectionError.unknownTable(projection: "?", table: table) }
            for (column, value) in zip(columns, values) { state.projectionTables[table]?[keyValues]?[column] = value }
        case .delete(let table, _, let values):
            guard state.projectionTables[table] != nil else { throw ProjectionError.unknownTable(projection: "?", table: table) }
            state.projectionTables[table]?[values] = nil
        }
    }

    public func leases(subscription: String) async throws -> [PartitionLease] {
        try check(.lease)
        return state.withLock { state in (state.leases[subscription] ?? [:]).values.sorted { $0.partition < $1.partition } }
    }
}

extension InMemoryEventStore: ProjectionStore {
    public func prepareProjection(_ schema: ProjectionSchema) async throws -> ProjectionState {
        try check(.subscriptionRead)
        return withState { state in
            if let known = state.projections[schema.name] { return known }
            let first = schema.generation(1)
            for physical in first.tables.values { state.projectionTables[physical] = [:] }
            let created = ProjectionState(name: schema.name, serving: first, building: nil)
            state.projections[schema.name] = created
            return created
        }
    }

    public func projectionState(_ name: String) async throws -> ProjectionState? {
        try check(.subscriptionRead)
        return withState { $0.projections[name] }
    }

    public func projectionVersion(_ name: String) async throws -> ProjectionVersion? {
        try check(.subscriptionRead)
        return withState { state in
            state.projections[name].map { ProjectionVersion(generation: $0.serving.number, changes: state.projectionChanges[name] ?? 0) }
        }
    }

    public func beginProjectionBuild(_ schema: ProjectionSchema) async throws -> ProjectionState {
        try check(.commit)
        return try withState { state in
            guard var known = state.projections[schema.name] else { throw ProjectionError.unknownProjection(schema.name) }
            if let building = known.building {
                if building.version == schema.version { return known }
                Self.drop(building, of: schema, from: &state)  // a build of another version, abandoned
            }
            let building = schema.generation(known.nextGenerationNumber)
            for physical in building.tables.values { state.projectionTables[physical] = [:] }
            known.building = building
            state.projections[schema.name] = known
            return known
        }
    }

    public func completeProjectionBuild(_ schema: ProjectionSchema, generation: Int) async throws {
        try check(.commit)
        try withState { state in
            guard var known = state.projections[schema.name], let building = known.building, building.number == generation else {
                throw StoreError.projectionGenerationGone(projection: schema.name, generation: generation)
            }
            Self.drop(known.serving, of: schema, from: &state)
            known.serving = building
            known.building = nil
            state.projections[schema.name] = known
        }
        commitSignal.notify()
    }

    /// Drops a generation's tables, checkpoint (or its partitions' checkpoints, leases and
    /// nodes) and parked events.
    private static func drop(_ generation: ProjectionState.Generation, of schema: ProjectionSchema, from state: inout State) {
        for physical in generation.tables.values { state.projectionTables[physical] = nil }
        let checkpoint = schema.checkpointName(generation: generation.number)
        state.checkpoints = state.checkpoints.filter { $0.key != checkpoint && !$0.key.hasPrefix(checkpoint + "#") }
        state.parked[checkpoint] = nil
        state.leases[checkpoint] = nil
        state.nodes[checkpoint] = nil
    }

    public func projectionRows(_ table: ProjectionTable, physical: String, query: ProjectionQuery) async throws -> [ProjectionRow] {
        try check(.logRead)
        let keys = query.sortKeys(for: table)
        let rows = try matching(table, physical: physical, query: query).map { (row: $0, relevance: query.byRelevance ? query.relevance(of: $0) : 0) }
            .sorted { a, b in
                if a.relevance != b.relevance { return a.relevance > b.relevance }
                return Self.precedes(a.row, b.row, keys)
            }
            .map(\.row)
        let page = rows.dropFirst(query.offset).prefix(query.limit ?? Int.max)
        let declared = Set(table.columns.map(\.name))
        return page.map { ProjectionRow(table: table.name, values: $0.filter { declared.contains($0.key) }) }
    }

    private static func precedes(_ a: [String: ProjectionValue], _ b: [String: ProjectionValue], _ keys: [ProjectionQuery.SortKey]) -> Bool {
        for key in keys {
            let order = ProjectionValue.compare(a[key.column] ?? .null, b[key.column] ?? .null) ?? 0
            if order != 0 { return key.ascending ? order < 0 : order > 0 }
        }
        return false
    }

    public func projectionCount(_ table: ProjectionTable, physical: String, query: ProjectionQuery) async throws -> Int {
        try check(.logRead)
        return try matching(table, physical: physical, query: query).count
    }

    private func matching(_ table: ProjectionTable, physical: String, query: ProjectionQuery) throws -> [[String: ProjectionValue]] {
        try withState { state in
            guard let rows = state.projectionTables[physical] else { throw ProjectionError.unknownTable(projection: "?", table: physical) }
            let tables = state.projectionTables
            let rowsOf = { (table: String) in tables[table].map { Array($0.values) } ?? [] }
            return rows.values.filter { query.matches($0, rows: rowsOf) }
        }
    }
}

extension InMemoryEventStore: EventPruning {
    public func pruneEvents(before position: Int64, recordedBefore: Date, keepingTypes: Set<String>, limit: Int) async throws -> Int {
        try check(.commit)
        return state.withLock { state in
            guard position >= 1, position <= state.events.count, state.events[Int(position) - 1] != nil else { return 0 }
            var deleted = 0
            for index in 0..<Int(position - 1) where deleted < limit {
                guard let event = state.events[index], event.recordedAt < recordedBefore, !keepingTypes.contains(event.eventType) else { continue }
                state.events[index] = nil
                deleted += 1
            }
            return deleted
        }
    }

    public func pruneInbox(limit: Int) async throws -> Int {
        try check(.commit)
        return state.withLock { state in
            let live = Set(state.events.lazy.compactMap { $0?.eventID })
            var deleted = 0
            for subscription in state.inbox.keys.sorted() {
                for id in state.inbox[subscription]!.sorted(by: { $0.uuidString < $1.uuidString }) where deleted < limit && !live.contains(id) {
                    state.inbox[subscription]!.remove(id)
                    deleted += 1
                }
            }
            return deleted
        }
    }

    public func pruneDocuments(ofType streamType: String, writtenBefore: Date, after cursor: String?, limit: Int) async throws -> (deleted: Int, next: String?) {
        try check(.commit)
        return state.withLock { state in
            let ids = state.aggregates.keys.filter { stream in stream.type == streamType && (cursor.map { stream.id > $0 } ?? true) }.map(\.id).sorted()
            let looked = ids.prefix(limit)
            var deleted = 0
            for id in looked {
                let stream = StreamID(type: streamType, id: id)
                guard let written = state.written[stream], written < writtenBefore else { continue }
                state.aggregates[stream] = nil
                state.written[stream] = nil
                deleted += 1
            }
            return (deleted, ids.count > looked.count ? looked.last : nil)
        }
    }
}

extension InMemoryEventStore: AnnouncingStore {
    /// Nothing to pass on: no other process shares this store (the engine has woken this
    /// process's followers already).
    public func announce(_ topic: String) async throws {}
}
