import Foundation
import Herald
import HeraldTesting
import Logging
import Testing

/// A batch's handlers share one unit of work: a handler that fails leaves nothing of its own
/// behind, and takes nothing away from the handlers before or after it in the batch.
@Suite("Handler savepoints within a batch")
struct HandlerSavepointTests {
    struct Fail: Error {}

    @Test func aFailingHandlerDropsOnlyItsOwnChangesToSharedAggregatesAndSchedules() async throws {
        let store = InMemoryEventStore()
        let clock = ManualClock()
        let engine = quietEngine(store: store, clock: clock)
        // Each reminder bumps one shared counter; "reschedule …" reminders also reschedule
        // the message "follow-up", "cancel …" ones cancel the message "other". Reminders
        // ending in "fail" do all that, then throw.
        let subscription = Subscription(
            name: "bumps", eventTypes: [TestReminder.eventType],
            retryPolicy: try RetryPolicy(maxAttempts: 1, baseDelay: .milliseconds(1), maxDelay: .milliseconds(1)),
            handler: .transactional { delivery, work in
                let note = (try delivery.event() as! TestReminder).note
                var counter = try await work.load(TestCounter.self, id: "shared") ?? TestCounter(id: "shared")
                counter.increment()
                try work.save(&counter)
                if note.hasPrefix("reschedule") {
                    try work.schedule(
                        TestReminder(note: "after \(note)"), to: StreamID(type: "F", id: "1"), at: clock.now().adding(.seconds(60)),
                        key: "follow-up")
                }
                if note.hasPrefix("cancel") { work.cancelScheduledMessage(key: "other") }
                if note.hasSuffix("fail") { throw Fail() }
            })
        let work = engine.unitOfWork()
        for key in ["follow-up", "other"] {
            try work.schedule(TestReminder(note: "original"), to: StreamID(type: "F", id: key), at: clock.now().adding(.seconds(60)), key: key)
        }
        for note in ["a", "reschedule c", "reschedule b fail", "cancel fail", "d"] {
            try work.append(TestReminder(note: note), to: StreamID(type: "R", id: note))
        }
        try await work.commit()

        let report = try await engine.worker(for: subscription).drain()
        #expect(report.handled == 3)
        #expect(report.deadLettered == 2)
        let counter = try await engine.unitOfWork().load(TestCounter.self, id: "shared")
        #expect(counter?.value == 3, "a, c and d bumped the counter; the failed handlers' bumps were dropped")
        func note(_ key: String) async throws -> String? {
            try await store.scheduledMessage(key: key).map { try JSONDecoder().decode(TestReminder.self, from: $0.event.payload).note }
        }
        #expect(try await note("follow-up") == "after reschedule c", "the failed reschedule was dropped; c's stands")
        #expect(try await note("other") == "original", "the failed cancellation was dropped")
        let events = try await store.events(after: 0, limit: 100).filter { $0.eventType == TestIncremented.eventType }
        #expect(events.map(\.streamVersion) == [1, 2, 3], "only the kept handlers' events were appended, in order")
    }
}
