import Foundation
import Herald
import HeraldTesting
import Logging
import Synchronization
import TestSupport
import Testing

/// Two nodes share a partitioned subscription on one store. Each node has its own manual
/// clock, so a node can be frozen (it stops renewing its leases, as a paused or cut-off
/// process would) while the other's time runs on.
@Suite("Partitioned subscriptions with leases")
struct PartitionTests {
    static let partitioning = Partitioning(count: 6, leaseDuration: .seconds(9))  // renewed every 3 s
    static let nodes = ["node-a", "node-b"]

    /// A node's handler: records the delivery, writes one effect event per handled event
    /// (so a second commit of the same effect would show), and can be held at a gate.
    struct Node {
        let name: String
        let clock: ManualClock
        let engine: HeraldEngine
        let seen = DeliveryLog()
        let gate = Gate()
        let stop = StopFlag()
        /// Whether this node's handler waits at the gate on an event noted "hold".
        let holds: Bool

        init(_ name: String, store: InMemoryEventStore, holds: Bool = false) {
            self.name = name
            self.holds = holds
            clock = ManualClock()
            var registry = EventRegistry()
            registry.register(TestReminder.self)
            engine = HeraldEngine(
                store: store, registry: registry, clock: clock, logger: Logger(label: name, factory: { _ in SwiftLogNoOpLogHandler() }), node: name)
        }

        func subscription() -> Subscription {
            let seen = seen, gate = gate, holds = holds, name = name
            return Subscription(name: "split", batchSize: 8, partitioning: PartitionTests.partitioning, handler: .transactional { delivery, work in
                guard delivery.envelope.stream.type == "Order" else { return }
                seen.append(delivery.envelope)
                if holds, try delivery.decode(TestReminder.self).note == "hold" { await gate.wait() }
                try work.append(TestReminder(note: "effect by \(name)"), to: StreamID(type: "Effect", id: delivery.envelope.eventID.uuidString))
            })
        }
    }

    /// Holds a handler until opened.
    final class Gate: Sendable {
        private let state = Mutex((entered: false, open: false, left: false))
        var entered: Bool { state.withLock { $0.entered } }
        var left: Bool { state.withLock { $0.left } }
        func open() { state.withLock { $0.open = true } }
        func wait() async {
            state.withLock { $0.entered = true }
            while !state.withLock({ $0.open }) { try? await Task.sleep(for: .milliseconds(10)) }
            state.withLock { $0.left = true }
        }
    }

    @Test func nodesSplitThePartitionsAndAFrozenNodesLateCommitIsFencedOff() async throws {
        let store = InMemoryEventStore()
        let a = Node("node-a", store: store, holds: true), b = Node("node-b", store: store, holds: true)
        let runA = Task { try await a.engine.coordinator(for: a.subscription()).run(stop: a.stop) }
        let runB = Task { try await b.engine.coordinator(for: b.subscription()).run(stop: b.stop) }

        // Both nodes see each other within a renewal or two, and the partitions split 3 / 3.
        try await eventually("the partitions split between the nodes", every: .milliseconds(20), between: { Self.nextRound(of: [a, b]) }) {
            let owners = try await store.leases(subscription: "split").filter { $0.expiresAt > a.clock.now() }.map(\.owner)
            return owners.count == 6 && owners.filter { $0 == a.name }.count == 3
        }
        let partitionsOfA = Set(Self.partitioning.partitions(of: a.name, among: Self.nodes, group: "split"))
        let streams = (0..<24).map { StreamID(type: "Order", id: "o\($0)") }
        let held = try #require(streams.first { partitionsOfA.contains(Self.partitioning.partition(of: $0)) })
        try await append(to: streams, notes: { $0 == held ? "hold" : "go" }, engine: a.engine)
        try await eventually("node A holds a batch open in its handler", every: .milliseconds(20)) { a.gate.entered }

        // Node A freezes: its clock stops, so it renews nothing. Node B's time runs on; once
        // A's heartbeat and leases expire, B takes every partition and handles A's events,
        // up to the held one, where B too waits, before committing that batch.
        try await eventually("node B takes over node A's partitions", every: .milliseconds(20), between: { Self.nextRound(of: [b]) }) {
            let leases = try await store.leases(subscription: "split")
            return leases.count == 6 && leases.allSatisfy { $0.owner == b.name && $0.expiresAt > b.clock.now() }
        }
        try await eventually("node B reaches the held event", every: .milliseconds(20)) { b.gate.entered }
        // A thaws: its handler returns and its worker tries to commit the batch it held.
        // The checkpoint has not moved, so only the fence can stop that commit.
        a.gate.open()
        try await eventually("node A's handler returns", every: .milliseconds(20)) { a.gate.left }
        a.stop.request()
        store.commitSignal.notify()
        a.clock.advance(by: .seconds(1))
        try await runA.value  // every worker of node A has finished, its commit attempt included
        b.gate.open()
        try await eventually("node B handles every event", every: .milliseconds(20)) {
            try await effectCount(store) == streams.count * 3
        }

        #expect(try await store.parkedEvents(subscription: nil).isEmpty, "nothing failed")
        let log = try await store.events(after: 0, limit: 10_000)
        let handled = log.filter { $0.stream.type == "Order" }
        let effects = log.filter { $0.stream.type == "Effect" }
        #expect(effects.count == handled.count, "one effect per event: A's late commit was refused, not applied twice")
        let heldEffects = try await store.events(in: StreamID(type: "Effect", id: handled.first { $0.stream == held && $0.streamVersion == 2 }!.eventID.uuidString))
        #expect(try heldEffects.map { try JSONDecoder().decode(TestReminder.self, from: $0.payload).note } == ["effect by node-b"],
                "the held event's effect was committed by the lease holder, B; A's commit was fenced off")
        #expect(Set(effects.map(\.stream.id)) == Set(handled.map(\.eventID.uuidString)), "every event has its effect")
        #expect(a.seen.all.contains { $0.stream == held }, "node A did handle the held event before it froze")
        #expect(b.seen.all.contains { $0.stream == held }, "node B handled it again after the take-over")
        for stream in streams {
            #expect(b.seen.versions(of: stream) == b.seen.versions(of: stream).sorted(), "\(stream) in order on node B")
        }
        let tokens = try await store.leases(subscription: "split")
        #expect(tokens.filter { partitionsOfA.contains($0.partition) }.allSatisfy { $0.token >= 2 },
                "A's partitions changed hands, and their tokens grew")

        b.stop.request()
        store.commitSignal.notify()
        b.clock.advance(by: .seconds(1))
        try await runB.value
        let released = try await store.leases(subscription: "split")
        #expect(released.allSatisfy { $0.expiresAt <= b.clock.now() }, "a node that stops gracefully releases its leases")
    }

    // MARK: - Helpers

    /// Moves the nodes' clocks on by one renewal interval, together, once every node's
    /// coordinator has finished its round at the current time (it sleeps until the next).
    /// Moving time on regardless would let a node that the machine has not scheduled for a
    /// few milliseconds miss renewals, and its leases expire, however quickly it works.
    private static func nextRound(of nodes: [Node]) {
        let ready = nodes.allSatisfy { $0.clock.hasSleeper(until: $0.clock.now().adding(partitioning.renewInterval)) }
        guard ready else { return }
        for node in nodes { node.clock.advance(by: partitioning.renewInterval) }
    }

    private func append(to streams: [StreamID], notes: (StreamID) -> String, engine: HeraldEngine) async throws {
        for round in 0..<3 {
            let work = engine.unitOfWork()
            for stream in streams { try work.append(TestReminder(note: round == 1 ? notes(stream) : "go"), to: stream) }
            try await work.commit()
        }
    }

    private func effectCount(_ store: InMemoryEventStore) async throws -> Int {
        let log = try await store.events(after: 0, limit: 10_000)
        return Set(log.filter { $0.stream.type == "Effect" }.map(\.stream.id)).count
    }
}
