import Foundation
import Herald

extension EventStoreConformance {
    static let concurrency: [ConformanceTest] = [
        ConformanceTest(name: "of concurrent units of work on one aggregate exactly one commits") { make in
            let h = try await Harness(make)
            try await h.increment(["hot"], times: 1)
            for round in 0..<10 {
                let contenders = 8
                let results = await withTaskGroup(of: Result<Int64, any Error>.self) { group in
                    for _ in 0..<contenders {
                        group.addTask {
                            do {
                                let work = h.engine.unitOfWork()
                                var counter = try required(try await work.load(TestCounter.self, id: "hot"), "the hot counter")
                                counter.increment()
                                try work.save(&counter)
                                return .success(try await work.commit()[0].streamVersion)
                            } catch {
                                return .failure(error)
                            }
                        }
                    }
                    return await group.reduce(into: []) { $0.append($1) }
                }
                let winners = results.compactMap { try? $0.get() }
                let conflicts = results.compactMap { result -> ConcurrencyConflict? in
                    if case .failure(let error) = result { return error as? ConcurrencyConflict }
                    return nil
                }
                // Loads may interleave with commits, so more than one round-trip can win
                // overall, but never two with the same version, and every loser is a conflict.
                try checkEqual(winners.count + conflicts.count, contenders, "round \(round): every contender won or conflicted")
                try checkEqual(Set(winners).count, winners.count, "round \(round): no two winners share a version")
                for conflict in conflicts {
                    try check(conflict.actualVersion.map { $0 > conflict.expectedVersion } ?? false,
                              "round \(round): conflict names a newer stored version: \(conflict)")
                }
            }
            let events = try await h.store.events(in: Harness.counter("hot"))
            let final = try required(try await h.engine.unitOfWork().load(TestCounter.self, id: "hot"), "the hot counter")
            try checkEqual(Int64(final.value), Int64(events.count), "every committed increment has exactly one event")
            try checkEqual(events.map(\.streamVersion), Array(1...Int64(events.count)), "stream versions have no gaps")
        },
        ConformanceTest(name: "two units of work that loaded the same version: the second commit conflicts") { make in
            let h = try await Harness(make)
            try await h.increment(["c"], times: 1)
            let first = h.engine.unitOfWork(), second = h.engine.unitOfWork()
            var a = try required(try await first.load(TestCounter.self, id: "c"), "counter c")
            var b = try required(try await second.load(TestCounter.self, id: "c"), "counter c")
            a.increment()
            b.increment(by: 5)
            try first.save(&a)
            try second.save(&b)
            try await first.commit()
            let conflict = try await checkThrows(ConcurrencyConflict.self, "second commit") { try await second.commit() }
            try checkEqual(conflict, ConcurrencyConflict(stream: Harness.counter("c"), expectedVersion: 1, actualVersion: 2), "conflict")
            try check(conflict.description.contains("TestCounter/c") && conflict.description.contains("expected version 1")
                      && conflict.description.contains("found version 2"), "message names aggregate and versions: \(conflict)")
            try checkEqual(try await h.engine.unitOfWork().load(TestCounter.self, id: "c")?.value, 2, "first change kept")
        },
        ConformanceTest(name: "two workers of one subscription apply transactional effects exactly once") { make in
            let h = try await Harness(make)
            try await h.increment(["a", "b", "c", "d"], times: 25)
            let subscription = Subscription(name: "effects", batchSize: 7, handler: .transactional { delivery, work in
                // The effect: a counter per event id. A second application would make it 2.
                var effect = try await work.load(TestCounter.self, id: "effect-\(delivery.envelope.eventID)")
                    ?? TestCounter(id: "effect-\(delivery.envelope.eventID)")
                effect.value += 1  // no event: effects must not feed the subscription again
                try work.save(&effect)
            })
            let workers = try (0..<2).map { _ in try h.engine.worker(for: subscription) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in workers { group.addTask { try await worker.drain() } }
                try await group.waitForAll()
            }
            let events = try await h.log(holding: 100)
            try checkEqual(events.count, 100, "source events")
            for event in events {
                let effect = try await h.engine.unitOfWork().load(TestCounter.self, id: "effect-\(event.eventID)")
                try checkEqual(effect?.value, 1, "effect count of event \(event.position)")
            }
            try checkEqual(try await h.store.checkpoints()["effects"], 100, "checkpoint at the head")
        },
        ConformanceTest(name: "two workers that read the same parked event apply its retry's effect once") { make in
            let h = try await Harness(make)
            try await h.increment(["race"], times: 1)
            let attempts = CallCounter()
            let bothRead = Rendezvous(parties: 2)
            let policy = try RetryPolicy(maxAttempts: 5, baseDelay: .seconds(1), maxDelay: .seconds(1))
            let effects = StreamID(type: "Effect", id: "race")
            let subscription = Subscription(
                name: "retry-race", eventTypes: [TestIncremented.eventType], retryPolicy: policy, handler: .transactional { delivery, work in
                    if attempts.increment("race") == 1 { throw InjectedFailure(description: "first attempt fails") }
                    // Both workers hold the parked event before either commits its retry.
                    try await bothRead.arrive("workers retrying the parked event")
                    try work.append(TestReminder(note: "effect of \(delivery.envelope.eventID)"), to: effects)
                })
            let first = try h.engine.worker(for: subscription), second = try h.engine.worker(for: subscription)
            try await first.drain()
            try checkEqual(try await h.store.parkedEvents(subscription: "retry-race").map(\.status), [.retrying], "parked after one failure")
            h.clock.advance(by: .seconds(2))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in [first, second] { group.addTask { try await worker.drain() } }
                try await group.waitForAll()
            }
            try checkEqual(attempts.count("race"), 3, "one failed attempt, then one retry by each worker")
            try checkEqual(try await h.store.events(in: effects).count, 1, "the retry's effect committed once")
            try checkEqual(try await h.store.parkedEvents(subscription: "retry-race"), [], "nothing left parked")
        },
        ConformanceTest(name: "a commit acting on a parked event that changed since it was read fails and writes nothing") { make in
            let h = try await Harness(make)
            let events = try await h.increment(["p"], times: 1)
            let event = events[0]
            var failing = SubscriptionProgress(subscription: "cas")
            failing.park = [ParkedEvent(subscription: "cas", position: event.position, eventID: event.eventID, stream: event.stream,
                                        eventType: event.eventType, status: .retrying, attempts: 1, nextAttemptAt: h.clock.now())]
            var park = Changeset(recordedAt: h.clock.now())
            park.subscription = failing
            _ = try await h.store.commit(park)
            let read = try await h.store.parkedEvents(subscription: "cas")[0]

            // Someone else retries it (attempts 1 → 2) after our read.
            var other = SubscriptionProgress(subscription: "cas")
            other.expectedParked = [read.seen]
            var retried = read
            retried.attempts = 2
            other.park = [retried]
            var otherChangeset = Changeset(recordedAt: h.clock.now())
            otherChangeset.subscription = other
            _ = try await h.store.commit(otherChangeset)

            // Our release, from the stale read, must not win; nor may anything else in its changeset.
            var stale = Changeset(recordedAt: h.clock.now())
            var counter = TestCounter(id: "side-effect")
            counter.increment()
            stale.aggregates = [AggregateWrite(stream: counter.stream, expectedVersion: 0, state: try JSONEncoder().encode(counter))]
            stale.subscription = SubscriptionProgress(subscription: "cas")
            stale.subscription?.expectedParked = [read.seen]
            stale.subscription?.unpark = [read.position]
            let error = try await checkThrows(StoreError.self, "commit from a stale read") { try await h.store.commit(stale) }
            try checkEqual(error, .parkedEventChanged(subscription: "cas", position: event.position), "error names subscription and position")
            try checkEqual(try await h.store.parkedEvents(subscription: "cas").map(\.attempts), [2], "the other commit's state stands")
            try checkEqual(try await h.store.aggregate(counter.stream), nil, "nothing of the failed changeset written")

            // A parked event that is gone also fails the check.
            var gone = Changeset(recordedAt: h.clock.now())
            gone.subscription = SubscriptionProgress(subscription: "cas")
            gone.subscription?.expectedParked = [ParkedEvent.Seen(position: 999, status: .dead, attempts: 3)]
            gone.subscription?.unpark = [999]
            _ = try await checkThrows(StoreError.self, "commit on a parked event that is gone") { try await h.store.commit(gone) }
        },
    ]
}
