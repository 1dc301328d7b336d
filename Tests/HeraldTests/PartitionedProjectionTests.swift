import Foundation
import Herald
import HeraldTesting
import Logging
import TestSupport
import Testing

/// A projection split by stream between two nodes: each row is the fold of its own
/// stream, every event counted once; a new version is built whole and then shared again,
/// and the old generation's partitions leave nothing behind.
@Suite("Partitioned projections")
struct PartitionedProjectionTests {
    static let partitioning = Partitioning(count: 4, leaseDuration: .seconds(9))  // renewed every 3 s
    static let streams = (0..<24).map { StreamID(type: "Order", id: "o\($0)") }

    struct Node {
        let name: String
        let clock = ManualClock()
        let engine: HeraldEngine
        let stop = StopFlag()

        init(_ name: String, store: InMemoryEventStore) {
            self.name = name
            var registry = EventRegistry()
            registry.register(TestReminder.self)
            engine = HeraldEngine(
                store: store, registry: registry, clock: clock, logger: Logger(label: name, factory: { _ in SwiftLogNoOpLogHandler() }), node: name)
        }

        func run(_ projection: Projection) throws -> Task<Void, any Error> {
            let worker = try engine.projectionWorker(for: projection)
            return Task { try await worker.run(stop: stop) }
        }
    }

    /// Counts each stream's events in a row of its own; version 2 also keeps the last note.
    static func tally(version: Int) -> Projection {
        let streams = ProjectionTable(
            name: "streams", columns: [.init("id", .text), .init("events", .integer), .init("last", .text, nullable: true)], primaryKey: ["id"])
        var projection = Projection(name: "tally", version: version, tables: [streams], eventTypes: [TestReminder.eventType], batchSize: 5) { delivery, rows in
            let id = delivery.envelope.stream.id
            let counted = try await rows.row("streams", key: .text(id))?.integer("events") ?? 0
            let note = version >= 2 ? ProjectionValue.text(try delivery.decode(TestReminder.self).note) : .null
            try rows.upsert("streams", ["id": .text(id), "events": .integer(counted + 1), "last": note])
        }
        projection.partitioning = partitioning
        return projection
    }

    @Test func twoNodesShareTheProjectionAndEachRowCountsItsStreamsEventsOnce() async throws {
        let store = InMemoryEventStore()
        let a = Node("node-a", store: store), b = Node("node-b", store: store)
        let version1 = Self.tally(version: 1)
        let runs = [try a.run(version1), try b.run(version1)]
        try await append(rounds: 3, engine: a.engine)

        try await eventually("both nodes hold partitions and every event is counted", every: .milliseconds(20), between: { Self.nextRound(of: [a, b]) }) {
            let owners = Set(try await store.leases(subscription: "tally@g1").filter { $0.expiresAt > a.clock.now() }.map(\.owner))
            guard owners == [a.name, b.name] else { return false }
            return try await counts(version1, a.engine) == Dictionary(uniqueKeysWithValues: Self.streams.map { ($0.id, 3) })
        }
        let checkpoints = try await store.checkpoints().keys.filter { $0.hasPrefix("tally") }.sorted()
        #expect(checkpoints == (0..<4).map { Partitioning.checkpointName(subscription: "tally@g1", partition: $0, count: 4) },
                "one checkpoint per partition, none for the whole projection")

        // Version 2 on both nodes: built from the start of the log, then shared again.
        for node in [a, b] { node.stop.request() }
        store.commitSignal.notify()
        for run in runs { try await run.value }
        let next = [Node("node-a", store: store), Node("node-b", store: store)]
        let version2 = Self.tally(version: 2)
        let reruns = try next.map { try $0.run(version2) }
        try await append(rounds: 1, engine: next[0].engine)
        try await eventually("version 2 serves and counts every event", every: .milliseconds(20), between: { Self.nextRound(of: next) }) {
            let state = try await store.projectionState("tally")
            guard state?.serving.version == 2, state?.building == nil else { return false }
            return try await counts(version2, next[0].engine) == Dictionary(uniqueKeysWithValues: Self.streams.map { ($0.id, 4) })
        }
        let generation = try #require(try await store.projectionState("tally")).serving.number
        try await eventually("version 2's partitions take over", every: .milliseconds(20), between: { Self.nextRound(of: next) }) {
            let checkpoints = try await store.checkpoints().keys.filter { $0.hasPrefix("tally") }.sorted()
            return checkpoints == (0..<4).map { Partitioning.checkpointName(subscription: "tally@g\(generation)", partition: $0, count: 4) }
        }
        #expect(try await store.leases(subscription: "tally@g1").isEmpty, "the old generation's leases went with it")
        let lasts = try await next[0].engine.rows(version2, ProjectionQuery("streams")).map { try $0.text("last") }
        #expect(lasts.allSatisfy { $0 == "round 3" }, "each stream's last event, in order")

        for node in next { node.stop.request() }
        store.commitSignal.notify()
        for run in reruns { try await run.value }
    }

    @Test func aPartitionedProjectionIsNotDrainedByHand() async throws {
        let node = Node("node-a", store: InMemoryEventStore())
        await #expect(throws: ConfigurationError.self) { try await node.engine.projectionWorker(for: Self.tally(version: 1)).drain() }
    }

    // MARK: - Helpers

    /// Moves the nodes' clocks on by one renewal interval, together, once every node has
    /// finished its round at the current time (see `PartitionTests`).
    private static func nextRound(of nodes: [Node]) {
        let ready = nodes.allSatisfy { $0.clock.hasSleeper(until: $0.clock.now().adding(partitioning.renewInterval)) }
        guard ready else { return }
        for node in nodes { node.clock.advance(by: partitioning.renewInterval) }
    }

    private func append(rounds: Int, engine: HeraldEngine) async throws {
        let done = try await engine.store.events(after: 0, limit: 10_000).count / Self.streams.count
        for round in done..<(done + rounds) {
            let work = engine.unitOfWork()
            for stream in Self.streams { try work.append(TestReminder(note: "round \(round)"), to: stream) }
            try await work.commit()
        }
    }

    private func counts(_ projection: Projection, _ engine: HeraldEngine) async throws -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for row in try await engine.rows(projection, ProjectionQuery("streams")) {
            counts[try row.text("id")] = try row.integer("events")
        }
        return counts
    }
}
