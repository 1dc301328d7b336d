import Foundation
import Herald

extension EventStoreConformance {
    static let leases: [ConformanceTest] = [
        ConformanceTest(name: "a partition lease has one owner at a time; renewal keeps its token, a take-over after expiry raises it") { make in
            let h = try await Harness(make)
            let store = h.store
            func acquire(_ owner: String, _ partition: Int = 0) async throws -> PartitionLease? {
                try await store.acquireLease(
                    subscription: "s", partition: partition, owner: owner, now: h.clock.now(), expiresAt: h.clock.now().adding(.seconds(10)))
            }
            let first = try await acquire("a")
            try checkEqual(first?.token, 1, "token of a new lease")
            try checkEqual(try await acquire("b"), nil, "another owner while the lease runs")
            h.clock.advance(by: .seconds(5))
            let renewed = try await acquire("a")
            try checkEqual(renewed?.token, 1, "token after renewal")
            h.clock.advance(by: .seconds(9))
            try checkEqual(try await acquire("b"), nil, "the renewal moved the expiry")
            try checkEqual(try await acquire("c", 1)?.token, 1, "another partition is leased on its own")
            h.clock.advance(by: .seconds(2))
            let takenOver = try await acquire("b")
            try checkEqual(takenOver?.token, 2, "token after a take-over")
            try checkEqual(try await acquire("a"), nil, "the old owner cannot renew")
            let listed = try await store.leases(subscription: "s")
            try checkEqual(listed.map(\.partition), [0, 1], "leases by partition")
            try checkEqual(listed.map(\.owner), ["b", "c"], "owners")

            try await store.releaseLease(try required(renewed, "the renewed lease"))
            try checkEqual(try await acquire("a"), nil, "releasing a lease that changed hands does nothing")
            try await store.releaseLease(try required(takenOver, "the lease taken over"))
            try checkEqual(try await acquire("a")?.token, 3, "a released lease can be taken at once, with a new token")
        },
        ConformanceTest(name: "a commit fenced by a lease that has changed hands writes nothing") { make in
            let h = try await Harness(make)
            let store = h.store
            let checkpoint = Partitioning.checkpointName(subscription: "s", partition: 0, count: 2)
            _ = try await store.checkpoint(of: checkpoint, creatingAt: 0)
            _ = try await h.increment(["c1"], times: 2)
            func fencedChangeset(_ lease: PartitionLease, note: String) -> Changeset {
                var changeset = Changeset(recordedAt: h.clock.now())
                changeset.events = [NewEvent(
                    eventID: UUID(), stream: Harness.counter("effects"), eventType: "test.Effect", schemaVersion: 1,
                    payload: Data("{\"note\":\"\(note)\"}".utf8), occurredAt: h.clock.now())]
                changeset.subscription = SubscriptionProgress(subscription: "s", checkpointName: checkpoint)
                changeset.subscription?.checkpoint = (from: 0, to: 1)
                changeset.subscription?.fence = lease
                return changeset
            }
            let old = try await store.acquireLease(
                subscription: "s", partition: 0, owner: "a", now: h.clock.now(), expiresAt: h.clock.now().adding(.seconds(10)))
            h.clock.advance(by: .seconds(11))
            let new = try await store.acquireLease(
                subscription: "s", partition: 0, owner: "b", now: h.clock.now(), expiresAt: h.clock.now().adding(.seconds(10)))
            let error = try await checkThrows(StoreError.self, "commit under the lost lease") {
                try await store.commit(fencedChangeset(old!, note: "stale"))
            }
            try checkEqual(error, .leaseLost(subscription: "s", partition: 0), "error")
            try checkEqual(try await store.headPosition(), 2, "no event appended")
            try checkEqual(try await store.checkpoints()[checkpoint], 0, "checkpoint unmoved")
            let appended = try await store.commit(fencedChangeset(new!, note: "current"))
            try checkEqual(appended.count, 1, "the current owner commits")
            try checkEqual(try await store.checkpoints()[checkpoint], 1, "checkpoint moved by the current owner")
        },
        ConformanceTest(name: "a subscription's checkpoints are replaced by a new layout all at once, and only from the expected ones") { make in
            let h = try await Harness(make)
            let store = h.store
            _ = try await h.increment(["c1"], times: 3)
            _ = try await store.checkpoint(of: "s", creatingAt: 2)
            // Names that start like "s" but are other subscriptions' stay as they are.
            _ = try await store.checkpoint(of: "s2", creatingAt: 1)
            _ = try await store.checkpoint(of: Partitioning.checkpointName(subscription: "s2", partition: 0, count: 2), creatingAt: 1)
            _ = try await store.checkpoint(of: "s#tag", creatingAt: 1)
            let layout = (0..<3).map { Partitioning.checkpointName(subscription: "s", partition: $0, count: 3) }
            let stale = try await checkThrows(StoreError.self, "a replacement expecting a position the checkpoint has left") {
                try await store.replaceCheckpoints(of: "s", expecting: ["s": 1], with: layout, at: 1)
            }
            try checkEqual(stale, .checkpointMoved(subscription: "s", expected: 1, found: 2), "error")
            _ = try await checkThrows(StoreError.self, "a replacement that does not know of every checkpoint") {
                try await store.replaceCheckpoints(of: "s", expecting: [:], with: layout, at: 0)
            }
            try checkEqual(try await store.checkpoints(of: "s"), ["s": 2], "nothing changed by the refused replacements")

            try await store.replaceCheckpoints(of: "s", expecting: ["s": 2], with: layout, at: 2)
            try checkEqual(try await store.checkpoints(of: "s"), Dictionary(uniqueKeysWithValues: layout.map { ($0, Int64(2)) }),
                           "every partition of the new layout, at the agreed position; the old checkpoint gone")
            let all = try await store.checkpoints()
            try checkEqual(all["s2"], 1, "another subscription's checkpoint")
            try checkEqual(all["s#tag"], 1, "a checkpoint named like a partition but not one")
            try checkEqual(all.count, 6, "checkpoints in all")

            // The old layout's worker: its read finds its checkpoint gone (never re-created at
            // 0), and its commit is refused.
            let removed = try await checkThrows(StoreError.self, "a subscription read of a removed checkpoint") {
                _ = try await store.subscriptionRead(subscription: "s", checkpointName: "s", skippedThrough: nil, limit: 10, matching: nil)
            }
            try checkEqual(removed, .checkpointRemoved("s"), "error")
            var changeset = Changeset(recordedAt: h.clock.now())
            changeset.subscription = SubscriptionProgress(subscription: "s", checkpointName: "s")
            changeset.subscription?.checkpoint = (from: 2, to: 3)
            let refused = try await checkThrows(StoreError.self, "a commit moving a removed checkpoint") { _ = try await store.commit(changeset) }
            try checkEqual(refused, .checkpointMoved(subscription: "s", expected: 2, found: nil), "error")
            try checkEqual(try await store.checkpoints()["s"], nil, "the removed checkpoint was not re-created")
        },
        ConformanceTest(name: "heartbeats list a group's live nodes and forget expired ones") { make in
            let h = try await Harness(make)
            let now = h.clock.now()
            _ = try await h.store.heartbeat(group: "g", node: "b", now: now, expiresAt: now.adding(.seconds(5)))
            _ = try await h.store.heartbeat(group: "other", node: "z", now: now, expiresAt: now.adding(.seconds(5)))
            try checkEqual(
                try await h.store.heartbeat(group: "g", node: "a", now: now, expiresAt: now.adding(.seconds(10))), ["a", "b"], "live nodes")
            h.clock.advance(by: .seconds(6))
            let later = h.clock.now()
            try checkEqual(
                try await h.store.heartbeat(group: "g", node: "a", now: later, expiresAt: later.adding(.seconds(10))), ["a"],
                "after b's heartbeat expired")
        },
    ]
}
