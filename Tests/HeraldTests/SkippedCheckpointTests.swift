import Foundation
import Herald
import HeraldTesting
import Logging
import TestSupport
import Testing

/// A running subscription that sees only events it does not want commits its checkpoint
/// move once per `skipCommitDelay`, not once per commit; a batch it handles takes it along.
@Suite("Checkpoint moves over unwanted events")
struct SkippedCheckpointTests {
    @Test func unwantedEventsMoveTheCheckpointAfterADelayOrWithTheNextHandledBatch() async throws {
        let store = InMemoryEventStore()
        let clock = ManualClock()
        let engine = quietEngine(store: store, clock: clock)
        let handled = DeliveryLog()
        let subscription = reminders(pollInterval: .seconds(5), into: handled)
        let stop = StopFlag()
        func append(_ event: some DomainEvent) async throws -> Int64 { try await HeraldTests.append(event, through: engine) }
        func checkpoint() async throws -> Int64? { try await store.checkpoints()["reminders"] }

        // Stored before the worker starts, so its first scan sees all three and it then
        // sleeps on the manual clock until the skip is due: nothing here waits on real time.
        for index in 0..<3 { _ = try await append(TestIncremented(counterID: "x", amount: 1, value: index)) }
        let due = clock.now().addingTimeInterval(0.1)
        let running = Task { try await engine.worker(for: subscription).run(stop: stop) }
        try await eventually("the worker scanned the unwanted events and sleeps until the skip is due", every: .milliseconds(2)) {
            clock.hasSleeper(until: due)
        }
        #expect(try await checkpoint() ?? 0 == 0, "three unwanted events: no checkpoint write yet")
        clock.advance(by: .milliseconds(99))
        #expect(clock.hasSleeper(until: due), "99 ms later the worker still sleeps")
        #expect(try await checkpoint() ?? 0 == 0, "99 ms later: still no write")
        clock.advance(by: .milliseconds(1))
        try await eventually("the skipped checkpoint is committed", every: .milliseconds(2)) { try await checkpoint() == 3 }
        #expect(try await checkpoint() == 3, "100 ms after the first skip it is committed")

        _ = try await append(TestIncremented(counterID: "x", amount: 1, value: 4))
        let wanted = try await append(TestReminder(note: "r"))
        try await eventually("the wanted event is handled", every: .milliseconds(2)) { handled.all.count == 1 }
        try await eventually("the checkpoint reaches the wanted event", every: .milliseconds(2)) { try await checkpoint() == wanted }
        #expect(try await checkpoint() == wanted, "the handled batch carried the pending skip along")
        #expect(handled.all.map(\.position) == [wanted], "only the wanted event was handled, once")

        stop.request()
        store.commitSignal.notify()
        clock.advance(by: .seconds(5))
        try await running.value
    }
}
