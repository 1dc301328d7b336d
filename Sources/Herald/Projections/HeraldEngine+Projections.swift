import Foundation
import Synchronization

extension HeraldEngine {
    /// The store's projection capability.
    var projectionStore: any ProjectionStore { store }

    /// Creates the projection's tables when it is new, and returns where it stands.
    @discardableResult
    public func prepare(_ projection: Projection) async throws -> ProjectionState {
        try projection.validate()
        let state = try await projectionStore.prepareProjection(projection.schema)
        projectionStates.remember(state)
        return state
    }

    /// Rows of one of `projection`'s tables, from its serving generation.
    ///
    /// - Throws: ``ProjectionError/notReady(projection:serving:declared:)`` while the tables
    ///   serving are of another version than `projection`'s (a rebuild is due or under way).
    public func rows(_ projection: Projection, _ query: ProjectionQuery) async throws -> [ProjectionRow] {
        try await reading(projection, query) { store, query, table, physical in try await store.projectionRows(table, physical: physical, query: query) }
    }

    /// How many rows of one of `projection`'s tables match `query`'s conditions.
    public func count(_ projection: Projection, _ query: ProjectionQuery) async throws -> Int {
        try await reading(projection, query) { store, query, table, physical in try await store.projectionCount(table, physical: physical, query: query) }
    }

    /// What `projection`'s serving rows reflect now (see ``ProjectionVersion``): read it
    /// before reading the rows, and what was derived from them stays true while it holds.
    ///
    /// - Throws: ``ProjectionError/unknownProjection(_:)`` before the projection was prepared.
    public func version(of projection: Projection) async throws -> ProjectionVersion {
        guard let version = try await projectionStore.projectionVersion(projection.name) else { throw ProjectionError.unknownProjection(projection.name) }
        return version
    }

    /// Runs `read` against the serving generation, remembered between queries; when the
    /// read fails and a rebuild has swapped generations meanwhile, once more on the new one.
    private func reading<T>(
        _ projection: Projection, _ query: ProjectionQuery,
        _ read: (any ProjectionStore, ProjectionQuery, ProjectionTable, String) async throws -> T
    ) async throws -> T {
        let store = projectionStore
        let table = try projection.table(query.table)
        try query.validate(against: table, tables: projection.table)
        var state = try await servingState(projection, refresh: false)
        do {
            return try await read(store, try physical(query, projection, state), table, try physical(projection, state, table: table.name))
        } catch {
            let fresh = try await servingState(projection, refresh: true)
            guard fresh.serving.number != state.serving.number else { throw error }
            state = fresh
            return try await read(store, try physical(query, projection, state), table, try physical(projection, state, table: table.name))
        }
    }

    /// `query` naming the serving generation's tables in its conditions (stores read the
    /// physical tables; the query's own table is passed beside it).
    private func physical(_ query: ProjectionQuery, _ projection: Projection, _ state: ProjectionState) throws -> ProjectionQuery {
        var renamed = query
        renamed.conditions = try query.conditions.map { try $0.renamingTables { try physical(projection, state, table: $0) } }
        return renamed
    }

    private func servingState(_ projection: Projection, refresh: Bool) async throws -> ProjectionState {
        if !refresh, let known = projectionStates.state(projection.name) { return known }
        guard let state = try await projectionStore.projectionState(projection.name) else { throw ProjectionError.unknownProjection(projection.name) }
        projectionStates.remember(state)
        return state
    }

    private func physical(_ projection: Projection, _ state: ProjectionState, table: String) throws -> String {
        guard state.serving.version == projection.version else {
            throw ProjectionError.notReady(projection: projection.name, serving: state.serving.version, declared: projection.version)
        }
        guard let physical = state.serving.tables[table] else { throw ProjectionError.unknownTable(projection: projection.name, table: table) }
        return physical
    }

    /// The worker keeping `projection` up to date (see ``ProjectionWorker``).
    public func projectionWorker(for projection: Projection) throws -> ProjectionWorker {
        try projection.validate()
        return ProjectionWorker(projection: projection, engine: self)
    }

    /// A worker filling one generation of `projection`'s tables (or, with `slot`, one
    /// partition's share of it).
    func generationWorker(_ projection: Projection, _ generation: ProjectionState.Generation, slot: PartitionSlot? = nil) throws -> SubscriptionWorker {
        try SubscriptionWorker(
            subscription: projection.subscription(for: generation), store: store, registry: registry, clock: clock, random: random,
            logger: logger, cache: aggregateCache, metrics: metrics, tracing: tracing, slot: slot,
            projectionFence: ProjectionFence(projection: projection.name, generation: generation.number))
    }

    /// The coordinator running this node's partitions of one generation of `projection`.
    func generationCoordinator(_ projection: Projection, _ generation: ProjectionState.Generation, _ partitioning: Partitioning) -> PartitionCoordinator {
        PartitionCoordinator(
            subscription: projection.subscription(for: generation), partitioning: partitioning, node: node, store: store, clock: clock,
            logger: logger, makeWorker: { slot in try self.generationWorker(projection, generation, slot: slot) })
    }

    /// Rebuilds `projection` from the start of the log into fresh tables while its current
    /// tables keep answering queries, then swaps the fresh ones in (and drops the old) in one
    /// transaction. Reports the building checkpoint and the head of the log as it goes.
    ///
    /// Safe beside running projection workers, on this node or others: their next commit to
    /// the replaced tables fails, and they continue on the new ones.
    public func rebuild(_ projection: Projection, progress: @escaping @Sendable (ProjectionRebuildProgress) -> Void = { _ in }) async throws {
        try projection.validate()
        let store = projectionStore
        _ = try await store.prepareProjection(projection.schema)
        let state = try await store.beginProjectionBuild(projection.schema)
        guard let building = state.building else { return }
        try await build(projection, building, progress: progress)
    }

    /// Fills `building` up to the head of the log, then makes it serve.
    func build(
        _ projection: Projection, _ building: ProjectionState.Generation,
        progress: @escaping @Sendable (ProjectionRebuildProgress) -> Void
    ) async throws {
        let projections = projectionStore, log = store
        let worker = try generationWorker(projection, building)
        let checkpointName = projection.schema.checkpointName(generation: building.number)
        let reporting = Task {
            while !Task.isCancelled {
                if let checkpoint = try? await log.checkpoints()[checkpointName], let head = try? await log.headPosition(), !Task.isCancelled {
                    progress(ProjectionRebuildProgress(projection: projection.name, generation: building.number, position: checkpoint, head: head))
                }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        defer { reporting.cancel() }
        try await worker.drain()
        // The reporter's last look may still be on its way (a slow read): let it land first,
        // so the last report is the final one.
        reporting.cancel()
        await reporting.value
        let head = try await log.headPosition()
        progress(ProjectionRebuildProgress(projection: projection.name, generation: building.number, position: head, head: head))
        do {
            try await projections.completeProjectionBuild(projection.schema, generation: building.number)
        } catch StoreError.projectionGenerationGone {
            // Another node completed (or replaced) this build meanwhile.
        }
        projectionStates.forget(projection.name)
    }
}

/// How far a rebuild has come.
public struct ProjectionRebuildProgress: Sendable, Hashable {
    public var projection: String
    public var generation: Int
    /// The building checkpoint: events up to here are in the new tables.
    public var position: Int64
    public var head: Int64
}

/// Keeps a projection up to date, following its generations: it fills the serving
/// generation; when the serving tables are of another version than the code's, it builds
/// the declared version from the start of the log and swaps it in; when another node (or
/// ``HeraldEngine/rebuild(_:progress:)``) swaps generations, it moves to the new one.
public final class ProjectionWorker: Sendable {
    public let projection: Projection
    let engine: HeraldEngine

    init(projection: Projection, engine: HeraldEngine) {
        self.projection = projection
        self.engine = engine
    }

    /// Handles everything that can be handled now (building first, when a build is due).
    ///
    /// - Throws: ``ConfigurationError`` for a partitioned projection: its partitions'
    ///   checkpoints move only under their leases, in ``run(stop:)``.
    @discardableResult
    public func drain() async throws -> SubscriptionWorker.DrainReport {
        if let partitioning = projection.partitioning {
            throw ConfigurationError(
                setting: "Projection.partitioning (\(projection.name))", value: "\(partitioning.count) partitions",
                allowed: "nil for a projection drained by hand; run a partitioned one with run(stop:) or the engine's service")
        }
        while true {
            let state = try await engine.prepare(projection)
            if let due = try await dueBuild(state) {
                try await engine.build(projection, due) { _ in }
                continue
            }
            do {
                return try await engine.generationWorker(projection, state.serving).drain()
            } catch StoreError.projectionGenerationGone {
                continue  // a rebuild swapped generations: again, on the new one
            }
        }
    }

    /// Runs until `stop` is requested or the task is cancelled.
    public func run(stop: StopFlag) async throws {
        while !stop.isRequested {
            try Task.checkCancellation()
            do {
                let state = try await engine.prepare(projection)
                if let due = try await dueBuild(state) {
                    try await engine.build(projection, due) { progress in
                        self.engine.logger.info("building projection", metadata: [
                            "projection": "\(progress.projection)", "generation": "\(progress.generation)",
                            "position": "\(progress.position)", "head": "\(progress.head)",
                        ])
                    }
                    continue
                }
                // Returns when its generation is replaced; then round again, on the new one.
                if let partitioning = projection.partitioning {
                    try await runPartitions(of: state.serving, partitioning, stop: stop)
                } else {
                    try await engine.generationWorker(projection, state.serving).run(stop: stop)
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if Task.isCancelled { throw CancellationError() }
                engine.logger.error("projection pass failed, will retry", metadata: ["projection": "\(projection.name)", "error": "\(error)"])
                try? await engine.clock.sleep(until: engine.clock.now().adding(projection.pollInterval))
            }
        }
    }

    /// Runs this node's partitions of `generation` until `stop` is requested or another
    /// generation serves. The partitions' workers stop at their next commit after a swap;
    /// the coordinator would start them again on the old generation, so the serving
    /// generation is looked at every lease renewal and the coordinator stopped when it changed.
    private func runPartitions(of generation: ProjectionState.Generation, _ partitioning: Partitioning, stop: StopFlag) async throws {
        let coordinator = engine.generationCoordinator(projection, generation, partitioning)
        let partitions = StopFlag(), signal = engine.store.commitSignal, clock = engine.clock
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await coordinator.run(stop: partitions) }
            group.addTask {
                // Cancelled, the sleep returns at once and the read fails at once: without the
                // check this loop spun without ever suspending (found by the simulation, whose
                // one thread it held: a crashed node's tasks never ended).
                while !stop.isRequested, !partitions.isRequested, !Task.isCancelled {
                    await signal.sleep(until: clock.now().adding(partitioning.renewInterval), clock: clock, unless: stop, partitions)
                    let serving = try? await self.engine.projectionStore.projectionState(self.projection.name)?.serving.number
                    if let serving, serving != generation.number { break }
                }
            }
            // Whichever ends first (or throws) stops the other; the group then waits for it.
            defer {
                partitions.request()
                signal.notify()
            }
            _ = try await group.next()
        }
    }

    /// The generation to build now: when the serving tables are of another version than
    /// the code's, the build of the code's version (begun here unless under way).
    private func dueBuild(_ state: ProjectionState) async throws -> ProjectionState.Generation? {
        guard state.serving.version != projection.version else { return nil }
        if let building = state.building, building.version == projection.version { return building }
        return try await engine.projectionStore.beginProjectionBuild(projection.schema).building
    }
}

/// The serving generation of each projection, as last read: queries need not read it each
/// time; a query that fails after a swap reads it again.
public final class ProjectionStateCache: Sendable {
    private let states = Mutex<[String: ProjectionState]>([:])

    public init() {}

    func state(_ name: String) -> ProjectionState? { states.withLock { $0[name] } }
    func remember(_ state: ProjectionState) { states.withLock { $0[state.name] = state } }
    func forget(_ name: String) { states.withLock { $0[name] = nil } }
}
