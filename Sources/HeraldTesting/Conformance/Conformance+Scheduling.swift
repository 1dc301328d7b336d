import Foundation
import Herald

extension EventStoreConformance {
    static let scheduling: [ConformanceTest] = [
        ConformanceTest(name: "a scheduled message fires once, not before its time") { make in
            let h = try await Harness(make)
            let due = h.clock.now().addingTimeInterval(900)
            let work = h.engine.unitOfWork()
            var counter = TestCounter(id: "order")
            counter.increment()
            try work.save(&counter)
            try work.schedule(TestReminder(note: "deadline"), to: counter.stream, at: due, key: "deadline-order")
            try await work.commit()
            let schedulers = [h.engine.scheduler(), h.engine.scheduler()]
            h.clock.advance(to: due.addingTimeInterval(-0.001))
            try checkEqual(try await schedulers[0].deliverDueMessages(), [], "nothing before its time")
            h.clock.advance(to: due)
            // Two schedulers (two nodes) race for the same due message.
            let delivered = try await withThrowingTaskGroup(of: [EventEnvelope].self) { group in
                for scheduler in schedulers { group.addTask { try await scheduler.deliverDueMessages() } }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            try checkEqual(delivered.count, 1, "delivered once")
            try checkEqual(delivered[0].eventType, TestReminder.eventType, "the scheduled event")
            try checkEqual(delivered[0].stream, counter.stream, "into its stream")
            try checkEqual(delivered[0].streamVersion, 2, "after the stream's events")
            try checkEqual(delivered[0].occurredAt, due, "occurred at its due time")
            h.clock.advance(by: .seconds(3600))
            try checkEqual(try await schedulers[0].deliverDueMessages(), [], "never again")
            try checkEqual(try await h.store.events(in: counter.stream).count, 2, "one reminder in the log")
        },
        ConformanceTest(name: "a cancelled scheduled message never fires") { make in
            let h = try await Harness(make)
            let stream = StreamID(type: "Order", id: "o1")
            let schedule = h.engine.unitOfWork()
            try schedule.schedule(TestReminder(note: "deadline"), to: stream, at: h.clock.now().addingTimeInterval(60), key: "k1")
            try schedule.schedule(TestReminder(note: "kept"), to: stream, at: h.clock.now().addingTimeInterval(60), key: "k2")
            try await schedule.commit()
            let cancel = h.engine.unitOfWork()
            cancel.cancelScheduledMessage(key: "k1")
            try await cancel.commit()
            h.clock.advance(by: .seconds(120))
            let delivered = try await h.engine.scheduler().deliverDueMessages()
            try checkEqual(delivered.map(\.eventType), [TestReminder.eventType], "only the kept message")
            try checkEqual(try h.engine.registry.decode(TestReminder.self, from: delivered[0]).note, "kept", "kept message")
            // Cancelling after delivery changes nothing and does not fail.
            let late = h.engine.unitOfWork()
            late.cancelScheduledMessage(key: "k2")
            try await late.commit()
            try checkEqual(try await h.store.events(in: stream).count, 1, "one event in the log")
        },
        ConformanceTest(name: "scheduled messages are counted, pending and due, until delivered") { make in
            let h = try await Harness(make)
            let stream = StreamID(type: "Order", id: "o3")
            let work = h.engine.unitOfWork()
            for (key, seconds) in [("soon", 10.0), ("later", 20.0), ("much later", 3600.0)] {
                try work.schedule(TestReminder(note: key), to: stream, at: h.clock.now().addingTimeInterval(seconds), key: key)
            }
            try await work.commit()
            try checkEqual(try await h.store.scheduledMessageCounts(dueBy: h.clock.now()), ScheduledMessageCounts(pending: 3, due: 0), "none due yet")
            try checkEqual(try await h.store.scheduledMessageCounts(dueBy: h.clock.now().addingTimeInterval(10)),
                           ScheduledMessageCounts(pending: 3, due: 1), "due exactly at its time")
            h.clock.advance(by: .seconds(30))
            try checkEqual(try await h.store.scheduledMessageCounts(dueBy: h.clock.now()), ScheduledMessageCounts(pending: 3, due: 2), "two due")
            try checkEqual(try await h.engine.scheduler().deliverDueMessages().count, 2, "delivered")
            try checkEqual(try await h.store.scheduledMessageCounts(dueBy: h.clock.now()), ScheduledMessageCounts(pending: 1, due: 0), "after delivery")
        },
        ConformanceTest(name: "rescheduling a key replaces the message; delivery and cancel of one key never both win") { make in
            let h = try await Harness(make)
            let stream = StreamID(type: "Order", id: "o2")
            let first = h.engine.unitOfWork()
            try first.schedule(TestReminder(note: "old"), to: stream, at: h.clock.now().addingTimeInterval(10), key: "k")
            try await first.commit()
            let second = h.engine.unitOfWork()
            try second.schedule(TestReminder(note: "new"), to: stream, at: h.clock.now().addingTimeInterval(20), key: "k")
            try await second.commit()
            try checkEqual(try await h.store.nextScheduledDueDate(), h.clock.now().addingTimeInterval(20), "replaced due time")
            h.clock.advance(by: .seconds(20))
            let due = try await h.store.dueScheduledMessages(at: h.clock.now(), limit: 10)
            let cancel = h.engine.unitOfWork()
            cancel.cancelScheduledMessage(key: "k")
            try await cancel.commit()
            // A scheduler that read the message before the cancel must not deliver it now.
            var changeset = Changeset(recordedAt: h.clock.now())
            changeset.deliveredSchedules = due.map(\.key)
            changeset.events = due.map(\.event)
            _ = try await checkThrows(StoreError.self, "delivering a cancelled message") { try await h.store.commit(changeset) }
            try checkEqual(try await h.store.headPosition(), 0, "nothing delivered")
        },
    ]
}
