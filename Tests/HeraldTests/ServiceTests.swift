import Foundation
import Herald
import HeraldTesting
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@Suite("Running under swift-service-lifecycle")
struct ServiceTests {
    /// A gate the handler waits at until graceful shutdown has begun.
    ///
    /// `ServiceGroup.triggerGracefulShutdown()` only queues the request, so the gate watches
    /// the handler task's own `isShuttingDownGracefully`, which becomes true in the same
    /// step that runs the service's shutdown handler (and so requests the worker's stop).
    final class Gate: Sendable {
        private let state = Mutex(false)
        var entered: Bool { state.withLock { $0 } }
        func passOnceShuttingDown() async {
            state.withLock { $0 = true }
            while !Task.isShuttingDownGracefully { try? await Task.sleep(for: .milliseconds(1)) }
        }
    }

    @Test func gracefulShutdownFinishesTheInFlightBatchAndCommitsItWhole() async throws {
        let store = InMemoryEventStore()
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let engine = HeraldEngine(store: store, clock: ManualClock(), logger: logger)
        let work = engine.unitOfWork()
        for index in 0..<10 { try work.append(TestReminder(note: "\(index)"), to: StreamID(type: "N", id: "\(index % 3)")) }
        try await work.commit()

        let gate = Gate()
        let handled = DeliveryLog()
        let subscription = Subscription(name: "slow", batchSize: 10, handler: .transactional { delivery, work in
            guard delivery.envelope.stream.type == "N" else { return }  // not its own effects
            if delivery.envelope.position == 5 { await gate.passOnceShuttingDown() }
            try work.append(TestReminder(note: "effect"), to: StreamID(type: "Effect", id: "\(delivery.envelope.position)"))
            handled.append(delivery.envelope)
        })
        let service = try engine.service(subscriptions: [subscription])
        let group = ServiceGroup(services: [service], logger: logger)
        let running = Task { try await group.run() }
        while !gate.entered { try await Task.sleep(for: .milliseconds(1)) }  // the batch is in flight
        await group.triggerGracefulShutdown()
        try await running.value

        #expect(handled.all.count == 10, "the in-flight batch was finished")
        #expect(try await store.checkpoints()["slow"] == 10, "its checkpoint committed with it, and no later batch started")
        #expect(try await store.headPosition() == 20, "with all ten effects")
    }
}
