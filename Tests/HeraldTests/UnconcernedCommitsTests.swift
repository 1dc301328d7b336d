import Foundation
import Herald
import HeraldTesting
import TestSupport
import Testing

/// A worker woken by commits it wants nothing of may move past them without reading the
/// log, but only when the signal can vouch for every position in between.
@Suite("Commits of no concern")
struct UnconcernedCommitsTests {
    static let wanted = WakeInterest(eventTypes: ["Wanted"])

    static func other(_ positions: ClosedRange<Int64>?) -> CommitTouch {
        CommitTouch(eventTypes: ["Other"], streamHashes: [1], positions: positions)
    }

    @Test func contiguousCommitsOfOtherTypesAreMovedPast() {
        let signal = CommitSignal()
        let seen = signal.generation
        signal.notify(Self.other(13...14))
        signal.notify(Self.other(11...12))  // announced out of order: a group's writes
        signal.notify(Self.other(8...10))  // partly read already
        let skip = signal.unconcernedAppends(since: seen, interest: Self.wanted, after: 9)
        #expect(skip?.through == 14 && skip?.generation == signal.generation)
        #expect(signal.unconcernedAppends(since: signal.generation, interest: Self.wanted, after: 14)?.through == 14, "nothing new")
    }

    @Test func aPositionNoAnnouncedCommitTookMeansReading() {
        let signal = CommitSignal()
        let seen = signal.generation
        signal.notify(Self.other(11...12))
        signal.notify(Self.other(14...15))  // 13: another process's commit, or one not announced yet
        #expect(signal.unconcernedAppends(since: seen, interest: Self.wanted, after: 10) == nil)
        #expect(signal.unconcernedAppends(since: seen, interest: Self.wanted, after: 9) == nil, "10 is unaccounted for too")
    }

    @Test func aWantedEventACommitWithoutPositionsOrAnAnonymousNotificationMeansReading() {
        for notification: CommitTouch? in [
            CommitTouch(eventTypes: ["Wanted", "Other"], streamHashes: [1], positions: 11...12), Self.other(nil), nil,
        ] {
            let signal = CommitSignal()
            let seen = signal.generation
            signal.notify(notification)
            #expect(signal.unconcernedAppends(since: seen, interest: Self.wanted, after: 10) == nil, "\(String(describing: notification))")
        }
    }

    @Test func notificationsNoLongerRememberedMeanReading() {
        let signal = CommitSignal()
        let seen = signal.generation
        var position: Int64 = 0
        for _ in 0..<(2 * CommitSignal.remembered) {
            signal.notify(Self.other((position + 1)...(position + 1)))
            position += 1
        }
        #expect(signal.unconcernedAppends(since: seen, interest: Self.wanted, after: 0) == nil)
    }

    @Test func schedulingCommitsWakeTheSchedulerButNotAWorkerOfOtherTypes() async throws {
        let signal = CommitSignal()
        let seen = signal.generation
        _ = signal.unconcernedAppends(since: seen, interest: Self.wanted, after: 0)  // touches are worked out from now on
        let scheduling = CommitTouch(eventTypes: ["Other"], streamHashes: [1], positions: 1...1, schedules: true)
        #expect(WakeInterest.noEvents.matches(scheduling), "a message scheduler wakes")
        #expect(!Self.wanted.matches(scheduling))
        signal.notify(scheduling)
        #expect(signal.unconcernedAppends(since: seen, interest: Self.wanted, after: 0)?.through == 1)
        await signal.wait(since: seen, interest: .noEvents)  // returns at once: the scheduler was told
    }

    /// The run loop over the in-memory store: commits of other types move the checkpoint
    /// (after the skip delay) without the worker reading them; a wanted one is handled.
    @Test func aRunningWorkerMovesPastOtherCommitsAndStillHandlesWantedOnes() async throws {
        let store = InMemoryEventStore()
        let clock = ManualClock()
        let engine = quietEngine(store: store, clock: clock)
        let handled = DeliveryLog()
        let subscription = reminders(pollInterval: .seconds(3600), into: handled)
        let stop = StopFlag()
        func append(_ event: some DomainEvent) async throws -> Int64 { try await HeraldTests.append(event, through: engine) }
        let running = Task { try await engine.worker(for: subscription).run(stop: stop) }
        let first = try await append(TestReminder(note: "first"))
        try await eventually("the first reminder is handled", every: .milliseconds(2)) { handled.all.count == 1 }
        var last = first
        for index in 0..<5 { last = try await append(TestIncremented(counterID: "x", amount: 1, value: index)) }
        try await eventually("the worker holds a pending skip", every: .milliseconds(2)) {
            clock.hasSleeper(until: clock.now().addingTimeInterval(0.1))
        }
        clock.advance(by: .milliseconds(100))
        try await eventually("the checkpoint moved past the other events", every: .milliseconds(2)) {
            try await store.checkpoints()["reminders"] == last
        }
        let wanted = try await append(TestReminder(note: "second"))
        try await eventually("the second reminder is handled", every: .milliseconds(2)) { handled.all.count == 2 }
        #expect(handled.all.map(\.position) == [first, wanted])

        stop.request()
        store.commitSignal.notify()
        clock.advance(by: .seconds(3600))
        try await running.value
    }
}
