import Foundation
import Herald
import HeraldTesting
import Resilience
import Synchronization
import Testing
import TestSupport

/// A call held inside the bulkhead until the test lets it go.
final class Gate: Sendable {
    private let opened = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let entered = Atomic<Bool>(false)

    var isInside: Bool { entered.load(ordering: .sequentiallyConsistent) }

    func pass() async {
        await withCheckedContinuation { continuation in
            opened.withLock { $0 = continuation }
            entered.store(true, ordering: .sequentiallyConsistent)
        }
    }

    func open() { opened.withLock { $0.take() }?.resume() }
}

struct BulkheadTests {
    static func bulkhead(_ clock: ManualClock) throws -> Bulkhead {
        try Bulkhead(name: "gateway", policy: BulkheadPolicy(maxConcurrent: 1, maxWaiting: 1, maxWait: .seconds(5)), clock: clock)
    }

    @Test func callsBeyondItsPlacesWaitInTurnAndOneMoreIsRefusedAtOnce() async throws {
        let clock = ManualClock()
        let bulkhead = try Self.bulkhead(clock)
        let first = Gate(), second = Gate()
        let running = Task { try await bulkhead.run { await first.pass() } }
        try await eventually("the first call runs") { first.isInside }
        let waiting = Task { try await bulkhead.run { await second.pass() } }
        try await eventually("the second call waits") { bulkhead.load.waiting == 1 }

        let refused = await #expect(throws: BulkheadFull.self) { try await bulkhead.run { } }
        #expect(refused?.reason == .queueFull)
        #expect(!second.isInside)

        first.open()
        try await running.value
        try await eventually("the waiting call gets the turn") { second.isInside }
        #expect(bulkhead.load == (running: 1, waiting: 0))
        second.open()
        try await waiting.value
        #expect(bulkhead.load == (running: 0, waiting: 0))
    }

    /// One call running (held at `gate`) and one waiting for its turn on `clock`.
    static func oneRunningOneWaiting(
        _ bulkhead: Bulkhead, _ clock: ManualClock, gate: Gate
    ) async throws -> (running: Task<Void, any Error>, waiting: Task<Void, any Error>) {
        let running = Task { try await bulkhead.run { await gate.pass() } }
        try await eventually("the first call runs") { gate.isInside }
        let waiting = Task { try await bulkhead.run { } }
        try await eventually("the second call waits on the clock") { bulkhead.load.waiting == 1 && clock.sleepers == 1 }
        return (running, waiting)
    }

    @Test func aCallThatWaitsLongerThanTheLimitIsRefusedAndLosesNoPlace() async throws {
        let clock = ManualClock()
        let bulkhead = try Self.bulkhead(clock)
        let first = Gate()
        let (running, waiting) = try await Self.oneRunningOneWaiting(bulkhead, clock, gate: first)
        clock.advance(by: .seconds(5))
        let error = await #expect(throws: BulkheadFull.self) { try await waiting.value }
        #expect(error?.reason == .waitedTooLong)
        #expect(bulkhead.load == (running: 1, waiting: 0))
        first.open()
        try await running.value
        #expect(bulkhead.load == (running: 0, waiting: 0))
        try await bulkhead.run { }
    }

    @Test func aCancelledWaiterLeavesTheQueue() async throws {
        let clock = ManualClock()
        let bulkhead = try Self.bulkhead(clock)
        let first = Gate()
        let (running, waiting) = try await Self.oneRunningOneWaiting(bulkhead, clock, gate: first)
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        #expect(bulkhead.load == (running: 1, waiting: 0))
        first.open()
        try await running.value
    }

    @Test func anInvalidPolicyIsRefusedByName() {
        for (policy, field) in [
            (BulkheadPolicy(maxConcurrent: 0), "maxConcurrent"), (BulkheadPolicy(maxConcurrent: 1, maxWaiting: -1), "maxWaiting"),
            (BulkheadPolicy(maxConcurrent: 1, maxWaiting: 1, maxWait: .seconds(-1)), "maxWait"),
        ] {
            let error = #expect(throws: ConfigurationError.self) { try Bulkhead(name: "b", policy: policy, clock: ManualClock()) }
            #expect(error?.setting == "BulkheadPolicy.\(field)")
        }
    }
}
