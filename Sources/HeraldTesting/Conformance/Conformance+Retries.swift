import Foundation
import Herald

extension EventStoreConformance {
    static let retries: [ConformanceTest] = [
        ConformanceTest(name: "a failing event is retried after back-off, never early, and holds only its own stream") { make in
            let h = try await Harness(make)
            try await h.increment(["a", "b"], times: 3)
            let log = DeliveryLog()
            let calls = CallCounter()
            let policy = try RetryPolicy(maxAttempts: 5, baseDelay: .seconds(10), maxDelay: .seconds(60))
            let worker = try h.engine.worker(for: h.logging("retry", into: log, policy: policy) { delivery in
                let e = delivery.envelope
                if e.stream.id == "a" && e.streamVersion == 2 && calls.increment("a2") < 3 {
                    throw InjectedFailure(description: "flaky dependency")
                }
            })
            try await worker.drain()
            try checkEqual(log.versions(of: Harness.counter("b")), [1, 2, 3], "other stream flows")
            try checkEqual(log.versions(of: Harness.counter("a")), [1], "failing stream stops at the failure")
            let parked = try await h.store.parkedEvents(subscription: "retry")
            try checkEqual(parked.map(\.status), [.retrying, .held], "failed event retrying, later one held")
            let due = try required(parked[0].nextAttemptAt, "the retrying event's next attempt")
            try check(due > h.clock.now() && due <= h.clock.now().addingTimeInterval(10), "first back-off within 0...10 s: \(due)")
            h.clock.advance(to: due.addingTimeInterval(-0.001))
            try await worker.drain()
            try checkEqual(calls.count("a2"), 1, "not retried before its time")
            while calls.count("a2") < 3 {
                h.clock.advance(to: try required(try await worker.nextRetryDate(), "the next retry date"))
                try await worker.drain()
            }
            try checkEqual(log.versions(of: Harness.counter("a")), [1, 2, 3], "stream order kept through retries")
            try checkEqual(try await h.store.parkedEvents(subscription: "retry"), [], "nothing parked after recovery")
        },
        ConformanceTest(name: "a poison event costs exactly the configured attempts, then waits dead while others flow") { make in
            let h = try await Harness(make)
            try await h.increment(["poison", "ok"], times: 2)
            let calls = CallCounter()
            let log = DeliveryLog()
            let policy = try RetryPolicy(maxAttempts: 4, baseDelay: .seconds(1), maxDelay: .seconds(8))
            let worker = try h.engine.worker(for: h.logging("p", into: log, policy: policy) { delivery in
                if delivery.envelope.stream.id == "poison" && delivery.envelope.streamVersion == 1 {
                    calls.increment("poison")
                    throw InjectedFailure(description: "cannot handle poison #\(delivery.previousAttempts + 1)")
                }
            })
            try await worker.drain()
            for _ in 0..<20 {
                guard let next = try await worker.nextRetryDate() else { break }
                h.clock.advance(to: next)
                try await worker.drain()
            }
            h.clock.advance(by: .seconds(3600))
            try await worker.drain()
            try checkEqual(calls.count("poison"), 4, "attempts spent on the poison event")
            try checkEqual(log.versions(of: Harness.counter("ok")), [1, 2], "other stream delivered")
            let dead = try await h.engine.deadLetters.list()
            try checkEqual(dead.count, 1, "one dead letter")
            try checkEqual(dead[0].attempts, 4, "dead letter attempts")
            try checkEqual(dead[0].heldBehind, 1, "the poison stream's later event waits behind it")
            try check(dead[0].lastError?.contains("poison #4") == true, "last error kept: \(dead[0].lastError ?? "nil")")
            let first = try required(dead[0].parked.firstFailedAt, "the first failure time"), last = try required(dead[0].parked.lastFailedAt, "the last failure time")
            try check(first < last, "first and last failure times kept")
            try checkEqual(dead[0].event?.eventType, TestIncremented.eventType, "dead letter carries its event")
            let status = try await h.engine.subscriptionStatuses()
            try checkEqual(status.map(\.dead), [1], "status counts the dead letter")
            try checkEqual(status.map(\.held), [1], "status counts the held event")
        },
    ]
}
