import Foundation
import Herald
import HeraldTesting
import Logging
import TestSupport
import Testing

/// A subscription moving from one worker to partitions while the old worker still runs on
/// another node: the partitions start where it stood, all from one position, its checkpoint
/// goes, and the old worker stops rather than handle anything again.
@Suite("Moving a subscription to partitions")
struct PartitionLayoutTests {
    static let partitioning = Partitioning(count: 4, leaseDuration: .seconds(3))

    @Test func theOldWorkerStopsAndThePartitionsStartWhereItStoodWithNothingHandledTwice() async throws {
        let store = InMemoryEventStore()
        let clock = ManualClock()
        var registry = EventRegistry()
        registry.register(TestReminder.self)
        let engine = HeraldEngine(
            store: store, registry: registry, clock: clock, logger: Logger(label: "layout", factory: { _ in SwiftLogNoOpLogHandler() }),
            node: "node-a")
        let seen = DeliveryLog()
        func subscription(_ partitioning: Partitioning?) -> Subscription {
            Subscription(name: "copier", batchSize: 5, partitioning: partitioning, handler: .transactional { delivery, work in
                guard delivery.envelope.stream.type == "Order" else { return }
                seen.append(delivery.envelope)
                try work.append(TestReminder(note: "effect"), to: StreamID(type: "Effect", id: delivery.envelope.eventID.uuidString))
            })
        }
        let streams = (0..<12).map { StreamID(type: "Order", id: "o\($0)") }
        func appendRound() async throws {
            let work = engine.unitOfWork()
            for stream in streams { try work.append(TestReminder(note: "go"), to: stream) }
            try await work.commit()
        }

        // The old node: one worker, caught up after a first round.
        let old = try engine.worker(for: subscription(nil))
        try await appendRound()
        _ = try await old.drain()
        let stoodAt = try #require(try await store.checkpoints()["copier"])
        try await appendRound()

        // The new node takes the subscription over in four partitions.
        let stop = StopFlag()
        let coordinator = try engine.coordinator(for: subscription(Self.partitioning))
        let running = Task { try await coordinator.run(stop: stop) }
        try await eventually("the partitions handle the second round", between: { clock.advance(by: Self.partitioning.renewInterval) }) {
            seen.count { $0.stream.type == "Order" } == streams.count * 2
        }
        let layout = try await store.checkpoints(of: "copier")
        #expect(layout.keys.sorted() == (0..<4).map { Partitioning.checkpointName(subscription: "copier", partition: $0, count: 4) },
                "the four partitions' checkpoints, and the old one gone")
        #expect(layout.values.allSatisfy { $0 >= stoodAt }, "no partition started before where the old worker stood")

        // The old worker, still running on its node, finds its checkpoint gone.
        try await appendRound()
        await #expect(throws: StoreError.checkpointRemoved("copier")) { _ = try await old.drain() }
        #expect(try await store.checkpoints()["copier"] == nil, "the old checkpoint was not re-created")
        try await eventually("the partitions handle the third round", between: { clock.advance(by: Self.partitioning.renewInterval) }) {
            seen.count { $0.stream.type == "Order" } == streams.count * 3
        }
        stop.request()
        store.commitSignal.notify()
        try await running.value

        let log = try await store.events(after: 0, limit: 10_000)
        let effects = log.filter { $0.stream.type == "Effect" }
        #expect(effects.count == streams.count * 3, "one effect per event: nothing handled twice, nothing missed")
        #expect(Set(seen.all.map(\.eventID)).count == seen.all.count, "no event delivered twice")
        for stream in streams {
            #expect(seen.versions(of: stream) == [1, 2, 3], "\(stream) in order")
        }
    }
}
