import Foundation
import Herald
import Synchronization
import Testing

/// A commit wakes only the workers it concerns: those of its events' types and partitions.
@Suite("Commit signal")
struct CommitSignalTests {
    static let order = CommitTouch(eventTypes: ["OrderSubmitted"], streamHashes: [12])

    @Test func aWaiterSleepsThroughCommitsOfOtherTypesAndPartitionsAndWakesForItsOwn() async throws {
        let signal = CommitSignal()
        let interest = WakeInterest(eventTypes: ["OrderSubmitted"], partition: 2, partitionCount: 5)  // 12 % 5 == 2
        let woken = Mutex(false)
        let seen = signal.generation
        let waiter = Task {
            await signal.wait(since: seen, interest: interest)
            woken.withLock { $0 = true }
        }
        signal.notify(CommitTouch(eventTypes: ["PaymentSucceeded"], streamHashes: [12]))
        signal.notify(CommitTouch(eventTypes: ["OrderSubmitted"], streamHashes: [13]))
        // Had either woken it, it would be awake by the time this third notification runs:
        // a waiter is resumed inside notify().
        try await Task.sleep(for: .milliseconds(50))
        #expect(!woken.withLock { $0 }, "commits of another type or partition do not wake it")
        signal.notify(Self.order)
        await waiter.value
        #expect(woken.withLock { $0 })
    }

    @Test func aCommitBeforeTheWaitBeganIsNotMissedAndOneOfUnknownContentWakesEveryone() async {
        let signal = CommitSignal()
        let interest = WakeInterest(eventTypes: ["OrderSubmitted"])
        let seen = signal.generation
        signal.notify(CommitTouch(eventTypes: ["Other"], streamHashes: [1]))
        signal.notify(Self.order)
        await signal.wait(since: seen, interest: interest)  // returns at once: the second concerned it

        let later = signal.generation
        signal.notify(nil)
        await signal.wait(since: later, interest: interest)  // anything may have changed

        // More notifications than are remembered: one of them may have concerned it.
        let long = signal.generation
        signal.notify(Self.order)
        for _ in 0..<(CommitSignal.remembered + 1) { signal.notify(CommitTouch(eventTypes: ["Other"], streamHashes: [1])) }
        await signal.wait(since: long, interest: interest)
    }

    @Test func postgresPayloadsAreReadAndAnythingElseIsNotACommit() {
        #expect(CommitTouch(payload: "|a.B,c.D|12,-1") == CommitTouch(eventTypes: ["a.B", "c.D"], streamHashes: [12, -1]))
        #expect(CommitTouch(payload: "orders-changed") == nil, "an announcement's topic")
        #expect(CommitTouch(payload: "|a|x") == nil)
        #expect(CommitTouch(payload: "||") == nil)
    }
}
