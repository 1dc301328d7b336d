@_spi(Operations) import MallApplication
import Foundation
import Herald
import MallKernel

/// What an operator reads and does through the CLI, the admin routes and the console:
/// subscriptions and their lag, dead letters, the event log, projections.
extension Mall {
    /// Every subscription's and projection's checkpoint, lag and dead letters.
    public func subscriptionStatuses() async throws -> [SubscriptionStatusView] {
        try await engine.subscriptionStatuses().map(SubscriptionStatusView.init)
    }

    /// The dead letters `selection` picks, in log order.
    public func deadLetters(_ selection: DeadLetterSelection = .all) async throws -> [DeadLetterView] {
        try await engine.deadLetters.list(selection.filter).map(DeadLetterView.init)
    }

    /// Gives the dead letters `selection` picks a fresh set of attempts, due at once; their
    /// held successors follow each once it succeeds. Returns how many.
    @discardableResult
    public func replayDeadLetters(_ selection: DeadLetterSelection) async throws -> Int {
        try await engine.deadLetters.replay(selection.filter)
    }

    /// Drops the dead letters `selection` picks and releases their held successors, in
    /// order. Returns how many.
    @discardableResult
    public func discardDeadLetters(_ selection: DeadLetterSelection) async throws -> Int {
        try await engine.deadLetters.discard(selection.filter)
    }

    /// The events held back (retrying, dead or held) for every subscription.
    public func parkedEvents() async throws -> [ParkedEventView] {
        try await engine.store.parkedEvents(subscription: nil).map(ParkedEventView.init)
    }

    /// The event at a log position, if there is one.
    public func event(at position: Int64) async throws -> LoggedEvent? {
        guard position > 0 else { return nil }
        return try await engine.store.events(at: [position]).first.map(LoggedEvent.init)
    }

    /// Reads the log after `position` in batches, in commit order.
    public func scanLog(after position: Int64 = 0, _ body: ([LoggedEvent]) async throws -> Void) async throws {
        try await engine.store.scanLog(after: position) { try await body($0.map(LoggedEvent.init)) }
    }

    /// Where a projection stands: the generation serving (and one being built), and the
    /// position it has projected up to, against the log's head.
    public struct ProjectionPlace: Sendable {
        public var name: String
        public var state: ProjectionState
        /// The position it has reached: for a partitioned projection, the earliest of its
        /// partitions in delivery order (which on PostgreSQL is not the positions' order).
        public var position: Int64
        public var head: Int64
        /// How many checkpoints it keeps (its partitions; 1 when not partitioned).
        public var partitions: Int
    }

    /// Where each of the shop's projections stands.
    public func projectionPlaces() async throws -> [ProjectionPlace] {
        let head = try await engine.store.headPosition()
        let checkpoints = try await engine.store.checkpoints()
        var places: [ProjectionPlace] = []
        for projection in projections() {
            let state = try await engine.prepare(projection)
            let name = projection.schema.checkpointName(generation: state.serving.number)
            let mine = checkpoints.filter { Partitioning.subscription(ofCheckpoint: $0.key) == name }
            let position = try await engine.store.earliest(of: Set(mine.values)) ?? 0
            places.append(ProjectionPlace(name: projection.name, state: state, position: position, head: head, partitions: mine.count))
        }
        return places
    }

    /// Replays the log into fresh tables of the projection named `name` while the current
    /// ones keep serving, then swaps them in.
    ///
    /// - Throws: `InvalidInput` naming the projections there are, for an unknown name.
    public func rebuildProjection(named name: String, progress: @escaping @Sendable (ProjectionRebuildProgress) -> Void) async throws {
        guard let projection = projections().first(where: { $0.name == name }) else {
            throw InvalidInput(field: "name", "no projection \(name); there are \(projections().map(\.name).joined(separator: ", "))")
        }
        try await engine.rebuild(projection, progress: progress)
    }
}

/// The figures an operator's gauges read from the store at each scrape.
extension Mall {
    /// How many scheduled messages wait, and how many of them are due now.
    public func scheduledMessageCounts() async throws -> ScheduledMessageCounts {
        try await engine.store.scheduledMessageCounts(dueBy: engine.clock.now())
    }

    /// The SQLite writer's transactions and the writes they grouped, since it opened; `nil`
    /// on another store.
    public func sqliteWriteGroups() -> (transactions: Int, writes: Int)? { writeGroups?() }
}
