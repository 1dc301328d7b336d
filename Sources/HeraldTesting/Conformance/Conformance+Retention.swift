import Foundation
import Herald

extension EventStoreConformance {
    /// ``EventPruning``: old events every reader has passed, inbox entries and expired documents.
    public static let retention: [ConformanceTest] = [
        ConformanceTest(name: "pruning deletes old events every reader has passed, and never one still needed") { make in
            let h = try await Harness(make)
            // A projection reading reminders: reminders are kept for its rebuilds, whatever their age.
            let reminders = Projection(
                name: "reminders", version: 1, tables: [ProjectionTable(name: "notes", columns: [.init("note", .text)], primaryKey: ["note"])],
                eventTypes: [TestReminder.eventType]
            ) { delivery, rows in try rows.upsert("notes", ["note": .text(try delivery.decode(TestReminder.self).note)]) }
            let projector = try h.engine.projectionWorker(for: reminders)
            let old = try await h.increment(["a", "b"], times: 5)  // positions 1...10
            let work = h.engine.unitOfWork()
            try work.append(TestReminder(note: "old"), to: StreamID(type: "Notes", id: "n"))
            let reminder = try required(try await work.commit().first, "the reminder")
            h.clock.advance(by: .seconds(3600))
            let recent = try await h.increment(["a"], times: 2)  // recorded an hour later

            // "fast" reads everything; "slow" keeps failing on b's third event: it waits in retries.
            let fast = try h.engine.worker(for: h.logging("fast", into: DeliveryLog()))
            let policy = try RetryPolicy(maxAttempts: 10, baseDelay: .seconds(60), maxDelay: .seconds(60))
            let poison = old.first { $0.stream.id == "b" && $0.streamVersion == 3 }!
            let slow = try h.engine.worker(for: h.logging("slow", into: DeliveryLog(), policy: policy) { delivery in
                if delivery.envelope.eventID == poison.eventID { throw InjectedFailure(description: "not yet") }
            })
            for worker in [fast, slow] { try await worker.drain() }
            try await projector.drain()
            let cutoff = h.clock.now().addingTimeInterval(-1800)

            let first = try required(try await h.engine.pruneLog(recordedBefore: cutoff, projections: [reminders], batchSize: 2), "the store prunes")
            let waiting = old.filter { $0.position < poison.position }
            try checkEqual(first.keptFrom, poison.position, "nothing from the event waiting in retries on")
            try checkEqual(first.events, waiting.count, "the old events before it")
            var left = try await h.log(holding: 0).map(\.position)
            try checkEqual(left, (old.map(\.position) + [reminder.position] + recent.map(\.position)).filter { $0 >= poison.position }.sorted(),
                           "what remains")

            // Once it is handled, every old event goes but the projection's reminder; the recent ones stay.
            h.clock.advance(by: .seconds(120))
            try await slow.drain()
            try checkEqual(try await h.store.parkedEvents(subscription: nil).filter { $0.status == .retrying }.count, 1, "still retrying")
            let second = try required(try await h.engine.pruneLog(recordedBefore: cutoff, projections: [reminders]), "pruned")
            try checkEqual(second.events, 0, "the retrying event still holds the log")
            let failing = try h.engine.worker(for: h.logging("slow", into: DeliveryLog(), policy: policy))
            h.clock.advance(by: .seconds(120))
            try await failing.drain()
            let third = try required(try await h.engine.pruneLog(recordedBefore: cutoff, projections: [reminders]), "pruned")
            left = try await h.log(holding: 0).map(\.position)
            try checkEqual(left, ([reminder.position] + recent.map(\.position)).sorted(), "the reminder and the recent events")
            try checkEqual(third.events, old.count - waiting.count, "the rest of the old events")

            // Readers go on as before: a new event reaches both subscriptions once.
            let log = DeliveryLog()
            let next = try await h.increment(["c"], times: 1)[0]
            let again = try h.engine.worker(for: h.logging("fast", into: log))
            try await again.drain()
            try checkEqual(log.all.map(\.eventID), [next.eventID], "fast reads only the new event")
            try await projector.drain()
            try checkEqual(try await h.engine.rows(reminders, ProjectionQuery("notes")).count, 1, "the projection's row")
        },
        ConformanceTest(name: "pruning never deletes the newest event, nor one a checkpoint stands on") { make in
            let h = try await Harness(make)
            let events = try await h.increment(["a"], times: 3)
            let reader = try h.engine.worker(for: h.logging("reader", into: DeliveryLog()))
            try await reader.drain()
            h.clock.advance(by: .seconds(3600))
            let report = try required(try await h.engine.pruneLog(recordedBefore: h.clock.now(), projections: []), "pruned")
            try checkEqual(report.events, 2, "all but the newest, where the checkpoint stands")
            try checkEqual(try await h.log(holding: 1).map(\.position), [events[2].position], "the newest stays")
            try checkEqual(try await h.store.headPosition(), events[2].position, "the head does not move back")
            let next = try await h.increment(["a"], times: 1)[0]
            try check(next.position > events[2].position, "positions keep increasing")
            let log = DeliveryLog()
            let again = try h.engine.worker(for: h.logging("reader", into: log))
            try await again.drain()
            try checkEqual(log.all.map(\.eventID), [next.eventID], "the reader goes on from its checkpoint")
        },
        ConformanceTest(name: "pruning documents deletes those of one type not written since the cutoff, and a new one starts afresh") { make in
            let h = try await Harness(make)
            let ids = (0..<7).map { "t\($0)" }
            try await h.increment(ids, times: 1)
            h.clock.advance(by: .seconds(3600))
            try await h.increment(["t2", "t5"], times: 1)  // written again an hour later
            try await h.increment(["u1"], times: 1)        // written only then
            let cutoff = h.clock.now().addingTimeInterval(-1800)

            let deleted = try required(
                try await h.engine.pruneDocuments(ofType: TestCounter.streamType, writtenBefore: cutoff, batchSize: 2), "the store prunes documents")
            try checkEqual(deleted, 5, "t0, t1, t3, t4 and t6")
            for id in ids + ["u1"] {
                let counter = try await h.engine.unitOfWork().load(TestCounter.self, id: id)
                try checkEqual(counter?.value, ["t2": 2, "t5": 2, "u1": 1][id], "\(id) after pruning")
            }
            try checkEqual(try await h.engine.pruneDocuments(ofType: "Elsewhere", writtenBefore: h.clock.now()), 0, "another type has none")
            try checkEqual(try await h.engine.pruneDocuments(ofType: TestCounter.streamType, writtenBefore: cutoff), 0, "a second pass finds none")

            // A pruned aggregate's events stay; a new one of the same id starts at version 1,
            // and is not mistaken for the old version 1 an engine had decoded before.
            try checkEqual(try await h.log(holding: 10).count, 10, "every event is still in the log")
            let elsewhere = HeraldEngine(store: h.store, clock: h.clock)
            let work = elsewhere.unitOfWork()
            var again = TestCounter(id: "t0")
            again.increment(by: 5)
            try work.save(&again)
            let appended = try await work.commit()
            try checkEqual(appended.map(\.streamVersion), [2], "its events go on numbering the stream")
            let loaded = try await h.engine.unitOfWork().load(TestCounter.self, id: "t0")
            try checkEqual(loaded?.value, 5, "the new t0, not the cached old one")
        },
    ]
}
