import Foundation
import Herald
import HeraldTesting
import Logging
import Scheduling
import Synchronization
import Testing

/// Sharded jobs on nodes sharing one store, driven tick by tick with a manual clock: each
/// item runs once per fire time on one node, moves when its node dies, never overlaps
/// itself; misfires, pause, resume and triggers behave as documented.
@Suite struct JobSchedulerTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Every (item, fire time) a job's body ran for, and on which node.
    final class Effects: Sendable {
        let runs = Mutex<[(item: Int, fire: Date, node: String)]>([])
        func body(_ run: JobRun) { runs.withLock { $0.append((run.item, run.fireTime, run.node)) } }
        var all: [(item: Int, fire: Date, node: String)] { runs.withLock { $0 } }
        var duplicates: [String] {
            Dictionary(grouping: all, by: { "\($0.item)@\($0.fire.timeIntervalSince1970)" }).filter { $0.value.count > 1 }.map(\.key)
        }
    }

    struct Shop {
        let store = InMemoryEventStore()
        let clock = ManualClock()
        let effects = Effects()

        func node(_ name: String, _ jobs: (Effects) throws -> [Job]) throws -> JobScheduler {
            let engine = HeraldEngine(store: store, clock: clock, logger: JobSchedulerTests.quiet, node: name)
            return try JobScheduler(engine: engine, jobs: try jobs(effects), tickInterval: .seconds(1), leaseDuration: .seconds(10), retention: JobRetention(runsPerItem: 1000))
        }

        /// Advances the clock a second at a time for `seconds`, ticking every node in `nodes` each second.
        @discardableResult
        func run(_ nodes: [JobScheduler], seconds: Int) async throws -> [JobRunRecord] {
            var records: [JobRunRecord] = []
            for _ in 0..<seconds {
                clock.advance(by: .seconds(1))
                for node in nodes { records += try await node.runDue() }
            }
            return records
        }
    }

    static func everyTenSeconds(items: Int = 4, misfire: Job.MisfirePolicy = .runOnce) -> (Effects) throws -> [Job] {
        { effects in [try Job(name: "sweep", schedule: CronSchedule("*/10 * * * * *"), items: items, misfire: misfire) { effects.body($0) }] }
    }

    @Test func twoNodesShareTheItemsAndEachRunsOncePerFireTime() async throws {
        let shop = Shop()
        let a = try shop.node("node-a", Self.everyTenSeconds()), b = try shop.node("node-b", Self.everyTenSeconds())
        try await shop.run([a, b], seconds: 60)
        let runs = shop.effects.all
        #expect(shop.effects.duplicates.isEmpty, "\(shop.effects.duplicates)")
        #expect(runs.count >= 20 && runs.count <= 24, "6 fire times × 4 items, the first perhaps before every item had its state: \(runs.count)")
        let late = runs.filter { $0.fire > shop.clock.now().addingTimeInterval(-40) }
        #expect(Set(late.filter { $0.node == "node-a" }.map(\.item)) == [0, 2], "items 0 and 2 belong to the first node")
        #expect(Set(late.filter { $0.node == "node-b" }.map(\.item)) == [1, 3])
        #expect(try await a.status().first?.items.compactMap(\.owner) == ["node-a", "node-b", "node-a", "node-b"])
    }

    @Test func aDeadNodesItemsRunOnTheOtherWithinTheLeaseAndOnePeriod() async throws {
        let shop = Shop()
        let a = try shop.node("node-a", Self.everyTenSeconds()), b = try shop.node("node-b", Self.everyTenSeconds())
        try await shop.run([a, b], seconds: 30)
        let died = shop.clock.now()  // node-b stops ticking: killed
        try await shop.run([a], seconds: 40)
        #expect(shop.effects.duplicates.isEmpty, "\(shop.effects.duplicates)")
        let afterDeath = shop.effects.all.filter { $0.fire > died }
        for item in [1, 3] {
            let first = try #require(afterDeath.filter { $0.item == item }.map(\.fire).min(), "item \(item) ran again")
            #expect(afterDeath.filter { $0.item == item }.allSatisfy { $0.node == "node-a" })
            #expect(first.timeIntervalSince(died) <= 10 + 10 + 1, "within lease expiry + one period: \(first.timeIntervalSince(died)) s")
        }
    }

    /// Two schedulers under one node name both hold the item's lease (as two nodes might
    /// for a moment around a hand-over): the claim still lets only one run each fire time.
    @Test func twoClaimsOfOneFireTimeRunItOnce() async throws {
        let shop = Shop()
        let a = try shop.node("same", Self.everyTenSeconds(items: 1)), twin = try shop.node("same", Self.everyTenSeconds(items: 1))
        for _ in 0..<30 {
            shop.clock.advance(by: .seconds(1))
            async let first = a.runDue()
            async let second = twin.runDue()
            _ = try await (first, second)
        }
        #expect(shop.effects.duplicates.isEmpty, "\(shop.effects.duplicates)")
        #expect(shop.effects.all.count == 3)
    }

    @Test(arguments: [Job.MisfirePolicy.runOnce, .skip])
    func afterDowntimeMissedFireTimesRunOnceOrAreSkipped(_ policy: Job.MisfirePolicy) async throws {
        let shop = Shop()
        let a = try shop.node("node-a", Self.everyTenSeconds(items: 1, misfire: policy))
        try await shop.run([a], seconds: 10)
        #expect(shop.effects.all.count == 1)
        shop.clock.advance(by: .seconds(3600))  // nobody ran the job for an hour
        let records = try await a.runDue()
        switch policy {
        case .runOnce:
            #expect(records.map(\.trigger) == [.misfire])
            #expect(shop.effects.all.count == 2, "one run for 360 missed fire times")
            #expect(shop.effects.all.last?.fire == shop.clock.now(), "for the latest of them")
        case .skip:
            #expect(records.isEmpty)
            #expect(shop.effects.all.count == 1)
            #expect(try await a.history("sweep").first?.outcome == .skipped)
        }
        try await shop.run([a], seconds: 10)
        #expect(shop.effects.all.count == (policy == .runOnce ? 3 : 2), "on schedule again")
    }

    @Test func anItemDoesNotOverlapItselfAndARunPastItsTimeoutIsCancelled() async throws {
        let shop = Shop()
        let clock = shop.clock
        let started = Mutex(0)
        let node = try shop.node("node-a") { _ in
            [try Job(name: "slow", schedule: CronSchedule("* * * * * *"), items: 1, timeout: .seconds(5)) { _ in
                started.withLock { $0 += 1 }
                try await clock.sleep(until: clock.now().addingTimeInterval(3600))  // far past its timeout
            }]
        }
        try await node.runDue()  // first sight
        // The run starts; while it waits on the clock, later ticks start nothing of this item.
        clock.advance(by: .seconds(1))
        let running = Task { try await node.runDue() }
        try await waitUntil { started.withLock { $0 } == 1 && clock.sleepers >= 2 }
        for _ in 0..<3 {
            clock.advance(by: .seconds(1))
            #expect(try await node.runDue().isEmpty)
        }
        #expect(started.withLock { $0 } == 1, "no second run while the first is under way")
        clock.advance(by: .seconds(3))  // past its 5 s timeout
        let records = try await running.value
        #expect(records.map(\.outcome) == [.timedOut])
        #expect(try await node.history("slow").first?.outcome == .timedOut)
    }

    @Test func pauseSkipsScheduledRunsATriggerRunsAnywayAndResumeGoesOn() async throws {
        let shop = Shop()
        let a = try shop.node("node-a", Self.everyTenSeconds(items: 2)), b = try shop.node("node-b", Self.everyTenSeconds(items: 2))
        try await shop.run([a, b], seconds: 20)
        let before = shop.effects.all.count
        try await b.pause("sweep", by: "ops")
        try await shop.run([a, b], seconds: 30)
        #expect(shop.effects.all.count == before, "paused on every node")
        #expect(try await a.status().first?.paused == true)

        try await a.trigger("sweep", by: "ops")
        let triggered = try await shop.run([a, b], seconds: 1)
        #expect(triggered.map(\.trigger) == [.manual, .manual], "every item once")
        try await b.resume("sweep", by: "ops")
        try await shop.run([a, b], seconds: 10)
        #expect(shop.effects.all.count == before + 2 + 2, "the trigger's runs, then the next fire time's")
        #expect(shop.effects.duplicates.isEmpty)
        await #expect(throws: UnknownJob.self) { try await a.pause("sweeep", by: "ops") }
    }

    @Test func theHistoryKeepsTheLatestRunsWithinItsRetention() async throws {
        let shop = Shop()
        let engine = HeraldEngine(store: shop.store, clock: shop.clock, logger: Self.quiet, node: "node-a")
        let node = try JobScheduler(
            engine: engine, jobs: try Self.everyTenSeconds(items: 1)(shop.effects), retention: JobRetention(runsPerItem: 3, age: .seconds(3600)))
        try await shop.run([node], seconds: 60)
        let history = try await node.history("sweep")
        #expect(history.count == 3)
        #expect(history.map(\.fireTime) == history.map(\.fireTime).sorted(by: >), "newest first")
        #expect(history.first?.fireTime == shop.clock.now())
        #expect(history.allSatisfy { $0.outcome == .succeeded && $0.node == "node-a" })
    }

    @Test func everyItemOfAJobEndingAtOnceRecordsItsRunAndIsFreeForTheNextFireTime() async throws {
        let shop = Shop()
        let node = try shop.node("node-a", Self.everyTenSeconds(items: 16))
        try await shop.run([node], seconds: 40)
        let runs = shop.effects.all
        #expect(runs.count >= 3 * 16, "every item ran at each fire time after the first sight: \(runs.count)")
        let history = try await node.history("sweep", limit: 1000)
        #expect(history.count == runs.count, "every run's end is recorded")
        #expect(history.allSatisfy { $0.outcome == .succeeded })
        #expect(try await node.status().first?.items.allSatisfy { $0.runningSince == nil } == true, "no item left running")
    }

    /// The store fails while a run ends (an outage begins during it): the end is stored at
    /// the first tick after the store is back, so the item is free for its next fire time
    /// at once, not only after the run's timeout (an hour here) and a lease.
    @Test func aRunWhoseEndCouldNotBeStoredIsRecordedOnceTheStoreIsBack() async throws {
        let shop = Shop()
        let store = shop.store
        let node = try shop.node("node-a") { effects in
            [try Job(name: "sweep", schedule: CronSchedule("*/10 * * * * *"), items: 1, timeout: .seconds(3600)) { run in
                effects.body(run)
                if effects.all.count == 1 { store.simulateOutage(of: [.commit]) }  // the first run's end cannot be committed
            }]
        }
        try await node.runDue()  // first sight
        shop.clock.advance(by: .seconds(10))
        let first = try await node.runDue()
        #expect(first.map(\.outcome) == [.succeeded], "the run itself succeeded")
        store.endOutage()
        #expect(try await node.history("sweep").isEmpty, "its end was not stored")
        #expect(try await node.status().first?.items.first?.runningSince != nil, "so the item still counts as running")

        try await shop.run([node], seconds: 1)
        #expect(try await node.history("sweep").map(\.outcome) == [.succeeded], "stored at the next tick")
        #expect(try await node.status().first?.items.first?.runningSince == nil)
        try await shop.run([node], seconds: 9)
        #expect(shop.effects.all.count == 2, "the next fire time ran")
        #expect(try await node.history("sweep").map(\.outcome) == [.succeeded, .succeeded])
    }

    /// Polls without a clock: for a task to reach a point (never a timing claim).
    func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<2000 where !condition() { try await Task.sleep(for: .milliseconds(5)) }
        try #require(condition())
    }
}

extension JobSchedulerTests {
    /// A node killed in the middle of a long run: the item moves with its lease, without
    /// waiting for the run's timeout; the lost run is recorded as abandoned.
    @Test func aRunLeftByAKilledNodeIsAbandonedOnceItsLeaseMoves() async throws {
        let shop = Shop()
        let clock = shop.clock
        let started = Mutex<[String]>([])
        func jobs(_ effects: Effects) throws -> [Job] {
            [try Job(name: "long", schedule: CronSchedule("*/10 * * * * *"), items: 1, timeout: .seconds(3600)) { run in
                started.withLock { $0.append(run.node) }
                if run.node == "node-a" { try await clock.sleep(until: clock.now().addingTimeInterval(7200)) }  // never ends: killed
            }]
        }
        let a = try shop.node("node-a", jobs), b = try shop.node("node-b", jobs)
        try await a.runDue()
        clock.advance(by: .seconds(10))
        let killed = Task { try await a.runDue() }  // node-a starts the run, then is "killed": it never ticks again
        try await waitUntil { started.withLock { $0 } == ["node-a"] }
        try await shop.run([b], seconds: 25)
        #expect(started.withLock { $0 }.contains("node-b"), "the item ran on node-b without waiting an hour")
        #expect(try await b.history("long").contains { $0.outcome == .abandoned && $0.node == "node-a" })
        killed.cancel()
    }

    /// A node that stalled past its lease while running an item (frozen, cut off) finds the
    /// item's lease taken when it ticks again: it cancels its run, which ends as failed,
    /// and leaves the item's state to the node that holds it now.
    @Test func aNodeThatFindsTheLeaseOfItsRunningItemTakenCancelsTheRun() async throws {
        let shop = Shop()
        let clock = shop.clock
        let started = Mutex<[String]>([]), cancelled = Mutex(false)
        func jobs(_ effects: Effects) throws -> [Job] {
            [try Job(name: "long", schedule: CronSchedule("*/10 * * * * *"), items: 1, timeout: .seconds(3600)) { run in
                started.withLock { $0.append(run.node) }
                guard run.node == "node-a" else { return }
                do { try await clock.sleep(until: clock.now().addingTimeInterval(7200)) } catch {
                    cancelled.withLock { $0 = true }
                    throw error
                }
            }]
        }
        let a = try shop.node("node-a", jobs), b = try shop.node("node-b", jobs)
        try await a.runDue()
        clock.advance(by: .seconds(10))
        let stalled = Task { try await a.runDue() }  // node-a starts the run, then stops ticking for a while
        try await waitUntil { started.withLock { $0 } == ["node-a"] }
        try await shop.run([b], seconds: 25)
        #expect(started.withLock { $0 }.contains("node-b"), "node-b took the item over")
        #expect(!cancelled.withLock { $0 }, "node-a has not ticked yet")

        try await a.runDue()  // node-a is back: the item's lease is node-b's
        try await waitUntil { cancelled.withLock { $0 } }  // node-a's run was cancelled
        let records = try await stalled.value
        #expect(records.map(\.outcome) == [.failed] && records.first?.error?.contains("lost the item's lease") == true, "\(records)")
        let history = try await b.history("long", limit: 100)
        #expect(history.contains { $0.outcome == .abandoned && $0.node == "node-a" }, "node-b recorded node-a's run as abandoned")
        #expect(!history.contains { $0.outcome == .failed }, "node-a's late end changed nothing")
    }

    /// A node joins while another runs an item that now belongs to it: the item moves once
    /// the run ends, not before, so it never runs on both.
    @Test func anItemMovesToANodeThatJoinedOnlyOnceItsRunEnds() async throws {
        let shop = Shop()
        let clock = shop.clock
        // The item that belongs to node-b once it joins (the other stays node-a's).
        let moving = try #require(Partitioning(count: 2).partitions(of: "node-b", among: ["node-a", "node-b"], group: "long").first)
        let gate = Mutex(false), running = Mutex<[String: Int]>([:]), overlapped = Mutex(false)
        func jobs(_ effects: Effects) throws -> [Job] {
            [try Job(name: "long", schedule: CronSchedule("*/10 * * * * *"), items: 2, timeout: .seconds(3600)) { run in
                let key = "\(run.item)"
                if running.withLock({ $0[key, default: 0] += 1; return $0[key]! }) > 1 { overlapped.withLock { $0 = true } }
                defer { running.withLock { $0[key, default: 0] -= 1 } }
                effects.body(run)
                if run.node == "node-a", run.item == moving { while !gate.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) } }
            }]
        }
        let a = try shop.node("node-a", jobs)
        try await a.runDue()
        clock.advance(by: .seconds(10))
        let first = Task { try await a.runDue() }  // both items on node-a; the moving one runs until the gate opens
        try await waitUntil { shop.effects.all.contains { $0.item == moving } }
        let b = try shop.node("node-b", jobs)
        try await shop.run([a, b], seconds: 30)  // node-b joins: the item is its, but runs on node-a
        #expect(!shop.effects.all.contains { $0.item == moving && $0.node == "node-b" }, "the item did not start on node-b while node-a ran it")
        gate.withLock { $0 = true }
        _ = try await first.value
        try await shop.run([a, b], seconds: 20)
        #expect(shop.effects.all.contains { $0.item == moving && $0.node == "node-b" }, "the item moved to node-b once its run ended")
        #expect(!overlapped.withLock { $0 }, "no item ran twice at once")
        #expect(try await b.history("long", limit: 100).allSatisfy { $0.outcome == .succeeded })
    }
}
