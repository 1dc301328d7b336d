import Foundation
import Herald
import HeraldTesting
import Resilience
import Testing
import TestSupport

struct CircuitBreakerTests {
    struct GatewayDown: Error {}
    struct BadRequest: Error {}

    static func breaker(_ clock: ManualClock) throws -> CircuitBreaker {
        var policy = CircuitBreakerPolicy()
        policy.window = .calls(10)
        policy.minimumCalls = 3
        policy.slowCallDuration = .seconds(2)
        policy.slowCallRateThreshold = 1
        policy.waitInOpen = .seconds(30)
        policy.halfOpenProbes = 1
        return try CircuitBreaker(name: "payment-gateway", policy: policy, clock: clock) { !($0 is BadRequest) }
    }

    @Test func failuresOpenItAndThenCallsFailAtOnceWithoutReachingTheDependency() async throws {
        let clock = ManualClock()
        let breaker = try Self.breaker(clock)
        let transitions = breaker.transitions()
        for _ in 0..<3 { await #expect(throws: GatewayDown.self) { try await breaker.run { throw GatewayDown() } } }
        #expect(breaker.state == .open)

        var reached = false
        let refused = await #expect(throws: CircuitOpen.self) { try await breaker.run { reached = true } }
        #expect(!reached)
        #expect(refused == CircuitOpen(breaker: "payment-gateway", retryAfter: .seconds(30)))

        clock.advance(by: .seconds(30))
        try await breaker.run { }
        #expect(breaker.state == .closed)
        var seen: [String] = []
        for await transition in transitions {
            seen.append("\(transition.from.rawValue)→\(transition.to.rawValue)")
            if seen.count == 3 { break }
        }
        #expect(seen == ["closed→open", "open→half-open", "half-open→closed"])
    }

    @Test func errorsThatAreNotTheDependencysFaultDoNotOpenIt() async throws {
        let breaker = try Self.breaker(ManualClock())
        for _ in 0..<10 { await #expect(throws: BadRequest.self) { try await breaker.run { throw BadRequest() } } }
        #expect(breaker.state == .closed)
    }

    @Test func slowCallsOpenItMeasuredOnTheInjectedClock() async throws {
        let clock = ManualClock()
        let breaker = try Self.breaker(clock)
        for _ in 0..<3 { try await breaker.run { clock.advance(by: .seconds(2)) } }
        #expect(breaker.state == .open)
    }

    @Test func aForcedOpeningIsProbedLikeAnyOther() async throws {
        let clock = ManualClock()
        let breaker = try Self.breaker(clock)
        breaker.forceOpen(reason: "fault drill")
        await #expect(throws: CircuitOpen.self) { try await breaker.run { } }
        clock.advance(by: .seconds(30))
        try await breaker.run { }
        #expect(breaker.state == .closed)
    }
}

struct TimeoutTests {
    @Test func anOperationPastItsLimitIsCancelledAndReportedAsTimedOut() async throws {
        let clock = ManualClock()
        let call = Task { try await withTimeout(.seconds(2), clock: clock) { try await Task.sleep(for: .seconds(3600)) } }
        try await eventually("the limit waits on the clock") { clock.sleepers == 1 }
        clock.advance(by: .seconds(2))
        let error = await #expect(throws: TimedOut.self) { try await call.value }
        #expect(error?.limit == .seconds(2))
    }

    @Test func anOperationWithinItsLimitGivesItsValueOrItsError() async throws {
        let clock = ManualClock()
        #expect(try await withTimeout(.seconds(2), clock: clock) { 42 } == 42)
        await #expect(throws: CircuitBreakerTests.GatewayDown.self) {
            try await withTimeout(.seconds(2), clock: clock) { throw CircuitBreakerTests.GatewayDown() }
        }
    }

    @Test func aFallbackAnswersForTheErrorsItCovers() async throws {
        let value = try await withFallback { throw CircuitBreakerTests.GatewayDown() } fallback: { _ in "bestsellers" }
        #expect(value == "bestsellers")
        await #expect(throws: CancellationError.self) {
            try await withFallback { throw CancellationError() } fallback: { _ in "never" }
        }
    }
}
