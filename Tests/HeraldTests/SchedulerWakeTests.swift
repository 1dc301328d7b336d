import Foundation
import Herald
import HeraldTesting
import Logging
import TestSupport
import Testing

/// The message scheduler sleeps through commits that only append events (on every node
/// it would otherwise read the schedule twice per commit of the cluster), and a commit
/// that schedules a message wakes it: the message is delivered without waiting for a poll.
@Suite("Message scheduler wake-ups")
struct SchedulerWakeTests {
    @Test func aCommitThatSchedulesAMessageWakesTheSchedulerBeforeItsPollEvenWithEventsBeside() async throws {
        let store = InMemoryEventStore()
        let clock = ManualClock()
        var registry = EventRegistry()
        registry.register(TestReminder.self)
        let engine = HeraldEngine(
            store: store, registry: registry, clock: clock, logger: Logger(label: "scheduler", factory: { _ in SwiftLogNoOpLogHandler() }),
            node: "node-a")
        let scheduler = engine.scheduler(pollInterval: .seconds(3600))
        let stop = StopFlag()
        let running = Task { try await scheduler.run(stop: stop) }
        let poll = clock.now().adding(.seconds(3600))
        try await eventually("the scheduler sleeps until its poll") { clock.hasSleeper(until: poll) }

        let due = StreamID(type: "Due", id: "d")
        let plain = engine.unitOfWork()
        try plain.append(TestReminder(note: "an event, nothing scheduled"), to: StreamID(type: "Note", id: "n"))
        try await plain.commit()
        // As a saga step commits: an event, and a message scheduled beside it.
        let scheduling = engine.unitOfWork()
        try scheduling.append(TestReminder(note: "the step's event"), to: StreamID(type: "Note", id: "n"))
        try scheduling.schedule(TestReminder(note: "due now"), to: due, at: clock.now(), key: "due-now")
        try await scheduling.commit()
        try await eventually("the message is delivered, the clock not moved") { try await store.events(in: due).count == 1 }
        #expect(clock.now() < poll)

        stop.request()
        store.commitSignal.notify()
        try await running.value
    }
}
