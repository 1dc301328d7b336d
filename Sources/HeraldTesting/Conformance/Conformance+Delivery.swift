import Foundation
import Herald

extension EventStoreConformance {
    static let delivery: [ConformanceTest] = [
        ConformanceTest(name: "how far a checkpoint is behind the head, and which position readers reach first") { make in
            let h = try await Harness(make)
            let events = try await h.increment(["a"], times: 3)
            let head = try await h.head(reaching: events[2].position)
            try checkEqual(head, events[2].position, "the head is the last event")
            for (index, event) in [(0, Int64(0))] + events.enumerated().map({ ($0.offset + 1, $0.element.position) }) {
                try checkEqual(try await h.store.eventsBehind(event, through: head), Int64(3 - index), "behind from checkpoint \(event)")
            }
            try checkEqual(try await h.store.earliest(of: [events[2].position, events[1].position]), events[1].position, "the earlier event")
            try checkEqual(try await h.store.earliest(of: [events[2].position, 0]), 0, "nothing read yet comes first")
            try checkEqual(try await h.store.earliest(of: []), nil, "none")
        },
        ConformanceTest(name: "every subscription sees every event once, in stream order") { make in
            let h = try await Harness(make)
            let ids = (0..<12).map { "s\($0)" }
            let committed = try await h.increment(ids, times: 9)
            let logs = [DeliveryLog(), DeliveryLog()]
            for (index, log) in logs.enumerated() {
                try await h.engine.worker(for: h.logging("sub\(index)", into: log, batchSize: 5 + index * 11)).drain()
                try checkEqual(log.all.map(\.eventID).sorted { $0.uuidString < $1.uuidString },
                               committed.map(\.eventID).sorted { $0.uuidString < $1.uuidString }, "sub\(index) saw every event once")
                for id in ids {
                    try checkEqual(log.versions(of: Harness.counter(id)), Array(1...9), "sub\(index) order of \(id)")
                }
            }
            try checkEqual(try await h.store.checkpoints(), ["sub0": 108, "sub1": 108], "checkpoints at head")
        },
        ConformanceTest(name: "a subscription starting at the end skips history; a filter skips other types") { make in
            let h = try await Harness(make)
            try await h.increment(["old"], times: 3)
            let log = DeliveryLog()
            var late = h.logging("late", into: log)
            late.startPosition = .end
            late.eventTypes = [TestReminder.eventType]
            let worker = try h.engine.worker(for: late)
            try await worker.drain()
            try await h.increment(["new"], times: 2)
            let work = h.engine.unitOfWork()
            try work.append(TestReminder(note: "hi"), to: StreamID(type: "Note", id: "n"))
            try await work.commit()
            try await worker.drain()
            try checkEqual(log.all.map(\.eventType), [TestReminder.eventType], "only the new reminder")
            try checkEqual(try await h.store.checkpoints()["late"], 6, "filtered events still move the checkpoint")
        },
        ConformanceTest(name: "handler effects and new events commit with the checkpoint, carrying causation") { make in
            let h = try await Harness(make)
            let source = try await h.increment(["c"], times: 1)[0]
            let subscription = Subscription(name: "echo", eventTypes: [TestIncremented.eventType], handler: .transactional { delivery, work in
                try work.append(TestReminder(note: "seen \(delivery.envelope.position)"), to: StreamID(type: "Echo", id: "e"))
            })
            try await h.engine.worker(for: subscription).drain()
            let echoes = try await h.store.events(in: StreamID(type: "Echo", id: "e"))
            try checkEqual(echoes.count, 1, "one echo")
            try checkEqual(echoes[0].causationID, source.eventID, "causation is the handled event")
            try checkEqual(echoes[0].correlationID, source.eventID, "correlation starts at the first event")
            try checkEqual(try await h.store.checkpoints()["echo"], source.position + 1, "checkpoint passed the echo too")
        },
        ConformanceTest(name: "a worker wakes on an in-process commit without waiting for its poll interval") { make in
            let h = try await Harness(make)
            let log = DeliveryLog()
            var subscription = h.logging("wake", into: log)
            subscription.pollInterval = .seconds(3600)  // the manual clock never gets there
            let worker = try h.engine.worker(for: subscription)
            let stop = StopFlag()
            let running = Task { try await worker.run(stop: stop) }
            defer { running.cancel() }
            try await h.increment(["w"], times: 1)
            // Bounded wait for an outcome; never a speed assertion.
            for _ in 0..<3000 where log.all.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            try checkEqual(log.all.count, 1, "delivered after the commit signal")
            stop.request()
            h.store.commitSignal.notify()
            try await running.value
        },
        ConformanceTest(name: "an external handler's inbox drops a re-delivery after an abandoned batch") { make in
            let h = try await Harness(make)
            try await h.increment(["x"], times: 3)
            let calls = CallCounter()
            let subscription = Subscription(name: "mailer", handler: .external(inbox: true) { delivery in
                let count = calls.increment("\(delivery.envelope.streamVersion)")
                if delivery.envelope.streamVersion == 2 && count == 1 {
                    withUnsafeCurrentTask { $0?.cancel() }  // the process dies mid-batch
                    throw CancellationError()
                }
            })
            let first = Task { try await h.engine.worker(for: subscription).drain() }
            _ = await first.result
            try checkEqual(try await h.store.checkpoints()["mailer"], 0, "abandoned batch moved no checkpoint")
            try await h.engine.worker(for: subscription).drain()
            try checkEqual(calls.count("1"), 1, "event 1 was in the inbox: not delivered again")
            try checkEqual(calls.count("2"), 2, "event 2 delivered again (at least once)")
            try checkEqual(calls.count("3"), 1, "event 3 delivered")
            try checkEqual(try await h.store.checkpoints()["mailer"], 3, "checkpoint at head")
        },
    ]

    /// ``EventLog``: reads by position, by type and by partition, in commit order.
    public static let eventLog: [ConformanceTest] = [
        ConformanceTest(name: "a typed read returns only those types and where its scan ended") { make in
            let h = try await Harness(make)
            var increments = try await h.increment(["a"], times: 4)
            let work = h.engine.unitOfWork()
            try work.append(TestReminder(note: "r"), to: StreamID(type: "Note", id: "n"))
            let reminder = try await work.commit()[0]
            increments += try await h.increment(["b"], times: 3)
            // Read as a subscriber does, three log positions at a time, until past the last
            // commit (a store may hold back events that are not yet safe to read).
            var position: Int64 = 0
            var incrementsSeen: [EventEnvelope] = []
            let lastPosition = try required(increments.last, "the commit's events").position
            for _ in 0..<1000 where position < lastPosition {
                let typed = try await h.store.events(after: position, limit: 3, matching: EventFilter(types: [TestIncremented.eventType]))
                guard let end = typed.scannedThrough else {
                    try await Task.sleep(for: .milliseconds(5))
                    continue
                }
                try check(end > position, "the scan moves forward")
                try check(typed.events.allSatisfy { $0.position > position && $0.position <= end }, "events lie in the scanned range")
                try check(typed.events.allSatisfy { $0.eventType == TestIncremented.eventType }, "only the asked type")
                incrementsSeen += typed.events
                position = end
            }
            try checkEqual(incrementsSeen.map(\.eventID), increments.map(\.eventID), "every increment, once, in order")
            try check(position >= reminder.position, "the scan passed the reminder without returning it")
            let none = try await h.store.events(after: position, limit: 10, matching: EventFilter(types: [TestIncremented.eventType]))
            try checkEqual(none.events.count, 0, "nothing after the head")
            try checkEqual(none.scannedThrough, nil, "no scan end after the head")
        },
        ConformanceTest(name: "a partition read returns that partition's events of the wanted types, in order, and scans to the head") { make in
            let h = try await Harness(make)
            let ids = (0..<12).map { "p\($0)" }
            let increments = try await h.increment(ids, times: 3)
            let work = h.engine.unitOfWork()
            for id in ids { try work.append(TestReminder(note: id), to: Harness.counter(id)) }
            let last = try required(try await work.commit().last, "the commit's events")
            for partition in 0..<3 {
                let filter = EventFilter(types: [TestIncremented.eventType], partition: partition, partitionCount: 3)
                var position: Int64 = 0
                var seen: [EventEnvelope] = []
                for _ in 0..<1000 where position < last.position {
                    let read = try await h.store.events(after: position, limit: 4, matching: filter)
                    guard let end = read.scannedThrough else {
                        try await Task.sleep(for: .milliseconds(5))
                        continue
                    }
                    try check(read.events.count <= 4, "at most the limit")
                    try check(read.events.allSatisfy { $0.position > position && $0.position <= end }, "events lie in the scanned range")
                    seen += read.events
                    position = end
                }
                let expected = increments.filter { Partitioning.partition(of: $0.stream, count: 3) == partition }
                try check(!expected.isEmpty, "partition \(partition) has streams")
                try checkEqual(seen.map(\.eventID), expected.map(\.eventID), "partition \(partition): its increments, once, in order")
                try checkEqual(position, last.position, "partition \(partition): the scan reached the head")
            }
        },
    ]
}
