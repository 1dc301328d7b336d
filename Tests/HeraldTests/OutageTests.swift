import Foundation
import Herald
import HeraldTesting
import Logging
import Synchronization
import TestSupport
import Testing

/// An outage of the store is never mistaken for a handler failure. A pass that
/// meets one commits nothing, counts no attempt and writes no dead letter; once the store is
/// back, every effect happens once.
@Suite("Store outages are not handler failures")
struct OutageTests {
    let store = InMemoryEventStore()
    let clock = ManualClock()

    var engine: HeraldEngine {
        var registry = EventRegistry()
        registry.register(TestIncremented.self)
        return HeraldEngine(store: store, registry: registry, clock: clock, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// Copies each counter's increments into a `copy-<id>` counter: a load and a save per
    /// event. One attempt only, so an outage counted as a failure would dead-letter at once.
    func copying(maxAttempts: Int = 1, logicFails: Flag? = nil) throws -> Subscription {
        Subscription(
            name: "copier", eventTypes: [TestIncremented.eventType],
            retryPolicy: try RetryPolicy(maxAttempts: maxAttempts, baseDelay: .seconds(1), maxDelay: .seconds(1)),
            handler: .transactional { delivery, work in
                let incremented = try delivery.decode(TestIncremented.self)
                var copy = try await work.load(TestCounter.self, id: "copy-\(incremented.counterID)") ?? TestCounter(id: "copy-\(incremented.counterID)")
                if logicFails?.isOn == true { throw HandlerBug() }
                copy.value += incremented.amount  // no event: the copy must not feed the subscription
                try work.save(&copy)
            })
    }

    func increment(_ id: String, times: Int) async throws {
        for _ in 0..<times {
            try await engine.perform { work in
                var counter = try await work.load(TestCounter.self, id: id) ?? TestCounter(id: id)
                counter.increment()
                try work.save(&counter)
            }
        }
    }

    func copyValue(_ id: String) async throws -> Int? {
        try await engine.unitOfWork().load(TestCounter.self, id: "copy-\(id)")?.value
    }

    @Test func anOutageUnderAHandlerOrAtCommitCountsNoAttemptAndWritesNoDeadLetter() async throws {
        try await increment("a", times: 3)
        let worker = try engine.worker(for: try copying())

        store.simulateOutage(of: [.aggregateRead])  // the handler's load fails
        await #expect(throws: StoreError.unavailable("simulated outage")) { try await worker.drain() }
        store.simulateOutage(of: [.commit])  // the handler succeeds, the worker's commit fails
        await #expect(throws: StoreError.unavailable("simulated outage")) { try await worker.drain() }
        store.endOutage()

        #expect(try await store.parkedEvents(subscription: nil) == [], "nothing parked, no attempt counted")
        #expect(try await store.checkpoint(of: "copier", creatingAt: 0) == 0, "the checkpoint did not move")
        #expect(try await copyValue("a") == nil, "no effect before the store is back")

        try await worker.drain()
        #expect(try await copyValue("a") == 3, "every effect once after the outage")
        #expect(try await engine.deadLetters.list().isEmpty)
    }

    @Test func anOutageDuringARetryLeavesTheAttemptsAsTheyWere() async throws {
        try await increment("r", times: 1)
        let bug = Flag(true)
        let worker = try engine.worker(for: try copying(maxAttempts: 2, logicFails: bug))
        try await worker.drain()
        #expect(try await store.parkedEvents(subscription: "copier").map(\.attempts) == [1], "the handler's own bug counts")

        bug.isOn = false
        clock.advance(by: .seconds(2))
        store.simulateOutage(of: [.aggregateRead])
        await #expect(throws: StoreError.self) { try await worker.drain() }
        store.simulateOutage(of: [.commit])
        await #expect(throws: StoreError.self) { try await worker.drain() }
        store.endOutage()
        let parked = try await store.parkedEvents(subscription: "copier")
        #expect(parked.map(\.attempts) == [1], "the outage did not spend the last attempt")
        #expect(parked.map(\.status) == [.retrying], "still retrying, not dead")

        try await worker.drain()
        #expect(try await copyValue("r") == 1)
        #expect(try await store.parkedEvents(subscription: nil) == [])
    }

    @Test func aRunningWorkerBacksOffDuringAnOutageAndCatchesUpAfter() async throws {
        try await increment("b", times: 2)
        let worker = try engine.worker(for: try copying())
        store.simulateOutage()
        let stop = StopFlag()
        let running = Task { try await worker.run(stop: stop) }
        // The worker tries, fails and waits on the manual clock; time moves only when we say.
        try await eventually("the worker waits after its failed pass", every: .milliseconds(2)) { clock.sleepers > 0 }
        store.endOutage()
        try await eventually("the worker catches up", every: .milliseconds(2), between: { clock.advance(by: .seconds(30)) }) { try await copyValue("b") == 2 }
        stop.request()
        store.commitSignal.notify()
        clock.advance(by: .seconds(60))
        try await running.value
        #expect(try await store.parkedEvents(subscription: nil) == [], "no attempt counted while the store was down")
    }

    @Test func theOutageBackOffGrowsWithFailedPassesWithinItsBounds() throws {
        let worker = try engine.worker(for: try copying(maxAttempts: 8))  // base 1 s, max 1 s
        for passes in 1...20 {
            let delay = worker.outageBackOff(afterFailedPasses: passes)
            #expect(delay >= .milliseconds(500) && delay <= .seconds(1), "half to all of the policy's delay: \(delay)")
        }
        var policy = try copying()
        policy.retryPolicy = try RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(100), maxDelay: .seconds(600))
        let growing = try engine.worker(for: policy)
        #expect(growing.outageBackOff(afterFailedPasses: 1) == .milliseconds(100), "never less than 100 ms")
        #expect(growing.outageBackOff(afterFailedPasses: 5) >= .milliseconds(800))
        #expect(growing.outageBackOff(afterFailedPasses: 50) == .seconds(30), "capped at 30 s")
        var spinning = try copying()
        spinning.retryPolicy = try RetryPolicy(maxAttempts: 1, baseDelay: .zero, maxDelay: .zero)
        #expect(try engine.worker(for: spinning).outageBackOff(afterFailedPasses: 3) == .milliseconds(100), "a policy without delays does not spin")
    }
}

struct HandlerBug: Error {}

/// A boolean shared with a handler.
final class Flag: Sendable {
    private let value: Mutex<Bool>
    init(_ value: Bool) { self.value = Mutex(value) }
    var isOn: Bool {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
