import Foundation
import Herald

extension EventStoreConformance {
    /// A stream `p` whose first event is poison until `fixed` is set, plus a healthy stream.
    private static func poisoned(_ h: Harness, log: DeliveryLog, fixed: Switch) async throws -> SubscriptionWorker {
        try await h.increment(["p", "q"], times: 4)
        let policy = try RetryPolicy(maxAttempts: 2, baseDelay: .seconds(1), maxDelay: .seconds(1))
        let worker = try h.engine.worker(for: h.logging("dl", into: log, policy: policy) { delivery in
            if delivery.envelope.stream.id == "p" && delivery.envelope.streamVersion == 2 && !fixed.isOn {
                throw InjectedFailure(description: "bug in handler")
            }
        })
        try await worker.drain()
        h.clock.advance(by: .seconds(5))
        try await worker.drain()
        try checkEqual(try await h.engine.deadLetters.list().map(\.position), [3], "p's second event is dead")
        // More events of the poisoned stream arrive while it is dead: they are held too.
        try await h.increment(["p"], times: 1)
        try await worker.drain()
        try checkEqual(log.versions(of: Harness.counter("p")), [1], "p stopped at the dead letter")
        return worker
    }

    static let deadLetters: [ConformanceTest] = [
        ConformanceTest(name: "replaying a dead letter after a fix delivers it and its held successors in order") { make in
            let h = try await Harness(make)
            let log = DeliveryLog()
            let fixed = Switch()
            let worker = try await poisoned(h, log: log, fixed: fixed)
            fixed.isOn = true
            try checkEqual(try await h.engine.deadLetters.replay(.init(subscription: "dl", eventType: TestIncremented.eventType)), 1, "replayed")
            try await worker.drain()
            try checkEqual(log.versions(of: Harness.counter("p")), [1, 2, 3, 4, 5], "p in order after replay")
            try checkEqual(log.versions(of: Harness.counter("q")), [1, 2, 3, 4], "q unaffected")
            try checkEqual(try await h.store.parkedEvents(subscription: nil), [], "nothing parked")
        },
        ConformanceTest(name: "a replayed dead letter that fails again returns to dead letters, keeping its successors held") { make in
            let h = try await Harness(make)
            let log = DeliveryLog()
            let worker = try await poisoned(h, log: log, fixed: Switch())
            try await h.engine.deadLetters.replay(.all)
            try await worker.drain()
            h.clock.advance(by: .seconds(5))
            try await worker.drain()
            let dead = try await h.engine.deadLetters.list()
            try checkEqual(dead.map(\.attempts), [2], "fresh attempts spent again")
            try checkEqual(dead.map(\.heldBehind), [3], "successors still held")
            try checkEqual(log.versions(of: Harness.counter("p")), [1], "nothing overtook the dead letter")
        },
        ConformanceTest(name: "discarding a dead letter releases its held successors in order") { make in
            let h = try await Harness(make)
            let log = DeliveryLog()
            let worker = try await poisoned(h, log: log, fixed: Switch())
            try checkEqual(try await h.engine.deadLetters.discard(.init(subscription: "dl", position: 3)), 1, "discarded")
            try checkEqual(try await h.engine.deadLetters.discard(.init(subscription: "dl", position: 3)), 0, "discarding again finds nothing")
            try await worker.drain()
            try checkEqual(log.versions(of: Harness.counter("p")), [1, 3, 4, 5], "p continues after the discarded event, in order")
            try checkEqual(try await h.engine.deadLetters.list(), [], "no dead letters")
        },
        ConformanceTest(name: "an operator acting on dead letters listed before someone else acted on them changes nothing") { make in
            let h = try await Harness(make)
            let log = DeliveryLog()
            let worker = try await poisoned(h, log: log, fixed: Switch())
            let listed = try await h.engine.deadLetters.list()
            try checkEqual(listed.count, 1, "one dead letter listed")
            // Another operator replays it, and the worker fails it once more (attempts 0 → 1).
            try checkEqual(try await h.engine.deadLetters.replay(listed), 1, "first replay")
            try await worker.drain()
            try checkEqual(try await h.store.parkedEvents(subscription: "dl").first?.attempts, 1, "failed again after replay")
            // The stale list must not discard the event that is retrying now.
            let error = try await checkThrows(StoreError.self, "discard from a stale list") { try await h.engine.deadLetters.discard(listed) }
            try checkEqual(error, .parkedEventChanged(subscription: "dl", position: 3), "error names the letter")
            try checkEqual(try await h.store.parkedEvents(subscription: "dl").map(\.position), [3, 5, 7, 9], "nothing discarded or released")
            // Replay and discard by filter race each other: exactly one of them acts.
            h.clock.advance(by: .seconds(5))
            try await worker.drain()
            try checkEqual(try await h.engine.deadLetters.list().count, 1, "dead again")
            async let replayed = h.engine.deadLetters.replay(.init(subscription: "dl"))
            async let discarded = h.engine.deadLetters.discard(.init(subscription: "dl"))
            try checkEqual(try await replayed + discarded, 1, "one of replay and discard acted")
        },
    ]
}
