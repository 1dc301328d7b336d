import Foundation
import Herald

extension EventStoreConformance {
    static let atomicity: [ConformanceTest] = [
        ConformanceTest(name: "a committed change has its events, numbered per stream and globally") { make in
            let h = try await Harness(make)
            let work = h.engine.unitOfWork(cause: .init(
                causationID: UUID(), correlationID: UUID(), traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                metadata: ["tenant": "t1"]))
            var counter = TestCounter(id: "c1")
            counter.increment()
            counter.increment(by: 2)
            try work.save(&counter)
            try check(counter.pendingEvents.isEmpty, "save empties pending events")
            let recorded = try await work.commit()
            try checkEqual(recorded.map(\.streamVersion), [1, 2], "stream versions")
            try check(recorded[0].position < recorded[1].position, "positions increase")
            let stored = try await h.log(holding: 2)
            try checkEqual(stored, recorded, "stored envelopes equal the returned ones")
            try checkEqual(stored[0].metadata, ["tenant": "t1"], "metadata round-trips")
            try checkEqual(stored[0].traceparent, work.cause.traceparent, "traceparent round-trips")
            try checkEqual(stored[0].causationID, work.cause.causationID, "causation id round-trips")
            try checkEqual(stored[0].correlationID, work.cause.correlationID, "correlation id round-trips")
            try checkEqual(stored[0].occurredAt, h.clock.now(), "occurred-at comes from the injected clock")
            let aggregate = try await h.store.aggregate(Harness.counter("c1"))
            try checkEqual(aggregate?.version, 1, "aggregate version after first commit")
            let reloaded = try await h.engine.unitOfWork().load(TestCounter.self, id: "c1")
            try checkEqual(reloaded?.value, 3, "reloaded state")
            try checkEqual(try await h.store.events(in: Harness.counter("c1")).count, 2, "events in stream")
        },
        ConformanceTest(name: "a stream's first position is found by its stream, and none for a stream without events") { make in
            let h = try await Harness(make)
            let events = try await h.increment(["a", "b"], times: 2)
            try checkEqual(try await h.store.firstPosition(of: Harness.counter("a")), events[0].position, "a's first event")
            try checkEqual(try await h.store.firstPosition(of: Harness.counter("b")), events[1].position, "b's first event")
            try checkEqual(try await h.store.firstPosition(of: Harness.counter("none")), nil, "a stream without events")
        },
        ConformanceTest(name: "an event id already in the log is refused by name, and nothing of that commit is written") { make in
            let h = try await Harness(make)
            let first = try await h.increment(["c1"], times: 1)[0]
            for withProgress in [false, true] {
                var changeset = Changeset(recordedAt: h.clock.now())
                changeset.aggregates = [AggregateWrite(stream: Harness.counter("fresh"), expectedVersion: 0, state: Data("{}".utf8))]
                changeset.events = [first.stream, StreamID(type: "Other", id: "o")].map { stream in
                    NewEvent(eventID: UUID(), stream: stream, eventType: "test.Other", schemaVersion: 1, payload: Data("{}".utf8),
                             occurredAt: h.clock.now())
                }
                changeset.events[1].eventID = first.eventID
                if withProgress { changeset.subscription = SubscriptionProgress(subscription: "s") }
                changeset.subscription?.inbox = [UUID()]
                let error = try await checkThrows(StoreError.self, "duplicate event id") { try await h.store.commit(changeset) }
                try checkEqual(error, .duplicateEventID(first.eventID), "the error names the id")
                // Past the first commit's position, so that the scans below see all there is.
                try checkEqual(try await h.head(reaching: first.position), first.position, "no event of that commit in the log")
                try checkEqual(try await h.store.events(in: first.stream).count, 1, "no event appended to the first stream")
                try checkEqual(try await h.store.events(in: StreamID(type: "Other", id: "o")).count, 0, "nor to the other")
                try checkEqual(try await h.store.aggregate(Harness.counter("fresh")), nil, "no aggregate written")
            }
        },
        ConformanceTest(name: "nothing is written before commit, and a rolled-back unit of work publishes nothing") { make in
            let h = try await Harness(make)
            let work = h.engine.unitOfWork()
            var counter = TestCounter(id: "c1")
            counter.increment()
            try work.save(&counter)
            try work.schedule(TestReminder(note: "x"), to: Harness.counter("c1"), at: h.clock.now(), key: "k")
            try checkEqual(try await h.store.headPosition(), 0, "head before commit")
            try checkEqual(try await h.store.aggregate(Harness.counter("c1")), nil, "aggregate before commit")
            work.rollback()
            try checkEqual(try await work.commit(), [], "commit after rollback appends nothing")
            try checkEqual(try await h.store.headPosition(), 0, "head after rollback")
            try checkEqual(try await h.store.scheduledMessage(key: "k"), nil, "scheduled message after rollback")
        },
        ConformanceTest(name: "a failed commit writes none of its aggregates, events or schedules") { make in
            let h = try await Harness(make)
            let taken = try await h.increment(["taken"], times: 1)[0]
            let work = h.engine.unitOfWork()
            var fresh = TestCounter(id: "fresh")
            fresh.increment()
            try work.save(&fresh)
            try work.schedule(TestReminder(note: "x"), to: Harness.counter("fresh"), at: h.clock.now(), key: "k")
            var clash = TestCounter(id: "taken")  // not loaded: must not exist, but it does
            clash.increment()
            try work.save(&clash)
            let conflict = try await checkThrows(ConcurrencyConflict.self, "commit over an existing aggregate") {
                try await work.commit()
            }
            try checkEqual(conflict.stream, Harness.counter("taken"), "conflict names the aggregate")
            try checkEqual(conflict.expectedVersion, 0, "conflict names the expected version")
            try checkEqual(conflict.actualVersion, 1, "conflict names the stored version")
            try checkEqual(try await h.head(reaching: taken.position), taken.position, "no event of the failed commit")
            try checkEqual(try await h.store.aggregate(Harness.counter("fresh")), nil, "no aggregate of the failed commit")
            try checkEqual(try await h.store.scheduledMessage(key: "k"), nil, "no schedule of the failed commit")
        },
        ConformanceTest(name: "an event id is stored at most once") { make in
            let h = try await Harness(make)
            let event = NewEvent(eventID: UUID(), stream: Harness.counter("c"), eventType: TestReminder.eventType,
                                 schemaVersion: 1, payload: Data("{\"note\":\"a\"}".utf8), occurredAt: h.clock.now())
            var changeset = Changeset(recordedAt: h.clock.now())
            changeset.events = [event]
            let stored = try await h.store.commit(changeset)[0]
            _ = try await checkThrows(StoreError.self, "appending the same event id again") { try await h.store.commit(changeset) }
            try checkEqual(try await h.head(reaching: stored.position), stored.position, "head after duplicate attempt")
        },
    ]
}
