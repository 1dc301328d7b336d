import Foundation
import Herald
import HeraldSQLite
import HeraldTesting
import Logging
import TestSupport
import Testing

/// A worker moves past commits of other types without reading only when this process
/// announced every position in between: an event another process committed to the same
/// file (announced to nobody here) is still read and handled.
@Suite("SQLite store: commits of no concern")
struct UnconcernedCommitsSQLiteTests {
    @Test func anEventAnotherProcessCommittedBetweenUnwantedCommitsIsStillHandled() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("shared.sqlite")
        let clock = ManualClock()
        let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let store = try SQLiteEventStore(path: path)
        let engine = HeraldEngine(store: store, clock: clock, logger: quiet)
        let otherProcess = HeraldEngine(store: try SQLiteEventStore(path: path), clock: clock, logger: quiet)
        let handled = DeliveryLog()
        // Polling once an hour: only a read on waking can find the other process's event.
        let subscription = Subscription(
            name: "reminders", eventTypes: [TestReminder.eventType], pollInterval: .seconds(3600),
            handler: .transactional { delivery, _ in handled.append(delivery.envelope) })
        func append(_ event: some DomainEvent, through engine: HeraldEngine) async throws -> Int64 {
            let work = engine.unitOfWork()
            try work.append(event, to: StreamID(type: "S", id: "1"))
            return try await work.commit()[0].position
        }
        let stop = StopFlag()
        let running = Task { try await engine.worker(for: subscription).run(stop: stop) }

        let first = try await append(TestReminder(note: "here"), through: engine)
        try await eventually("the first reminder is handled", every: .milliseconds(2)) { handled.all.count == 1 }
        let elsewhere = try await append(TestReminder(note: "from another process"), through: otherProcess)
        _ = try await append(TestIncremented(counterID: "x", amount: 1, value: 1), through: engine)  // wakes the worker
        try await eventually("the other process's reminder is handled", timeout: .seconds(30), every: .milliseconds(2)) {
            handled.all.count == 2
        }
        #expect(handled.all.map(\.position) == [first, elsewhere])

        stop.request()
        store.commitSignal.notify()
        clock.advance(by: .seconds(3600))
        try await running.value
    }
}
