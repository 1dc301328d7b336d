import Foundation
import Herald
import HeraldTesting
import Logging
import Resilience
import Synchronization
import Testing

/// An external subscriber (a refund through a payment gateway) behind a circuit breaker:
/// an outage of the dependency pauses the subscription instead of burning attempts into
/// dead letters, and the half-open probe resumes it.
@Suite struct BreakerPausesSubscriptionTests {
    struct RemoteDown: Error {}

    /// The dependency: answers or fails, and counts what reached it.
    final class Remote: Sendable {
        private let state = Mutex<(up: Bool, calls: Int, effects: Set<String>)>((true, 0, []))
        var calls: Int { state.withLock { $0.calls } }
        var effects: Set<String> { state.withLock { $0.effects } }
        func set(up: Bool) { state.withLock { $0.up = up } }

        func refund(_ id: String) async throws {
            try state.withLock { state in
                state.calls += 1
                guard state.up else { throw RemoteDown() }
                state.effects.insert(id)
            }
        }
    }

    @Test func anOpenBreakerPausesTheSubscriptionWithoutAttemptsAndAProbeResumesIt() async throws {
        let store = InMemoryEventStore(), clock = ManualClock()
        var registry = EventRegistry()
        registry.register(TestIncremented.self)
        let engine = HeraldEngine(store: store, registry: registry, clock: clock, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        var policy = CircuitBreakerPolicy()
        policy.window = .calls(10)
        policy.minimumCalls = 2
        policy.waitInOpen = .seconds(30)
        policy.halfOpenProbes = 1
        let breaker = try CircuitBreaker(name: "gateway", policy: policy, clock: clock)
        let remote = Remote()
        let refunds = Subscription(
            name: "refunds", eventTypes: [TestIncremented.eventType],
            retryPolicy: try RetryPolicy(maxAttempts: 3, baseDelay: .seconds(1), maxDelay: .seconds(1)),
            handler: .external(inbox: true) { delivery in
                let event = try delivery.decode(TestIncremented.self)
                try await breaker.run { try await remote.refund(event.counterID) }
            })
        for id in ["a", "b", "c", "d", "e"] {
            try await engine.perform { work in
                var counter = TestCounter(id: id)
                counter.increment()
                try work.save(&counter)
            }
        }
        let worker = try engine.worker(for: refunds)

        remote.set(up: false)
        // Two failures open the breaker; the third event meets it open and ends the pass.
        await #expect(throws: CircuitOpen.self) { try await worker.drain() }
        #expect(breaker.state == .open)
        #expect(remote.calls == 2)
        // An outage of an hour: every pass stops at the open breaker, nothing reaches the remote.
        for _ in 0..<120 {
            clock.advance(by: .seconds(29))
            await #expect(throws: CircuitOpen.self) { try await worker.drain() }
            clock.advance(by: .seconds(1))
            remote.set(up: false)
            _ = try? await worker.drain()  // the half-open probe fails: open again
        }
        #expect(remote.calls == 2 + 120, "one probe per wait, nothing else")
        #expect(try await store.parkedEvents(subscription: "refunds").isEmpty, "no attempt counted, nothing parked")
        #expect(try await engine.deadLetters.list().isEmpty, "no dead letters from an outage")

        remote.set(up: true)
        clock.advance(by: .seconds(30))
        try await worker.drain()
        #expect(breaker.state == .closed)
        #expect(remote.effects == ["a", "b", "c", "d", "e"], "every refund once the remote is back")
        #expect(try await engine.deadLetters.list().isEmpty)
    }
}
