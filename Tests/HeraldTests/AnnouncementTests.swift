import Foundation
import Herald
import HeraldTesting
import TestSupport
import Testing

/// `HeraldEngine.announce(_:)` on a store that cannot pass announcements on: this
/// process's followers of the topic wake, no others, and a follower waiting with a
/// deadline still wakes at the deadline (polling stays the guarantee).
@Suite struct AnnouncementTests {
    @Test func anAnnouncementWakesThatTopicsFollowersInThisProcessOnly() async throws {
        let clock = ManualClock()
        let engine = quietEngine(store: InMemoryEventStore(), clock: clock)
        let rules = engine.announcements.signal("shop.rules"), other = engine.announcements.signal("shop.other")
        let seen = rules.generation, otherSeen = other.generation, commits = engine.store.commitSignal.generation

        async let woken: Void = rules.wait(since: seen, until: clock.now().addingTimeInterval(3600), clock: clock)
        try await engine.announce("shop.rules")
        await woken
        #expect(rules.generation != seen)
        #expect(other.generation == otherSeen, "another topic's followers sleep on")
        #expect(engine.store.commitSignal.generation == commits, "no subscription worker is woken")
    }

    @Test func aFollowerWithoutAnnouncementWakesAtItsPollingDeadline() async throws {
        let clock = ManualClock()
        let engine = quietEngine(store: InMemoryEventStore(), clock: clock)
        let signal = engine.announcements.signal("shop.rules")
        let deadline = clock.now().addingTimeInterval(1)
        async let woken: Void = signal.wait(since: signal.generation, until: deadline, clock: clock)
        // The wait has begun once it sleeps on the clock; from then on the clock alone decides.
        try await eventually("the follower sleeps until its deadline", every: .milliseconds(1)) { clock.hasSleeper(until: deadline) }
        clock.advance(by: .milliseconds(999))
        #expect(clock.hasSleeper(until: deadline), "a millisecond before its deadline it still sleeps")
        clock.advance(by: .milliseconds(1))
        await woken
        #expect(clock.now() >= deadline)
    }

    @Test(arguments: ["", "has space", "semi;colon", "quote'", String(repeating: "a", count: 65)])
    func aTopicThatIsNotPlainTextIsRefused(_ topic: String) async throws {
        let engine = HeraldEngine(store: InMemoryEventStore())
        await #expect(throws: ConfigurationError.self) { try await engine.announce(topic) }
    }
}
