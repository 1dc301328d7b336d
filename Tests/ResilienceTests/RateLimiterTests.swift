import Foundation
import Herald
import HeraldTesting
import Resilience
import Testing

struct RateLimiterTests {
    @Test func aKeyGetsItsBurstThenWaitsForTokensToComeBack() throws {
        let clock = ManualClock()
        let limiter = try RateLimiter(policy: RateLimitPolicy(rate: 2, burst: 3), clock: clock)
        #expect((0..<3).map { _ in limiter.acquire("10.0.0.1") } == [.allowed, .allowed, .allowed])
        #expect(limiter.acquire("10.0.0.1") == .limited(retryAfter: .seconds(0.5)))
        clock.advance(by: .milliseconds(250))
        #expect(limiter.acquire("10.0.0.1") == .limited(retryAfter: .seconds(0.25)))
        clock.advance(by: .milliseconds(250))
        #expect(limiter.acquire("10.0.0.1") == .allowed)
        // A long quiet spell refills to the burst, no further.
        clock.advance(by: .seconds(60))
        #expect((0..<4).map { _ in limiter.acquire("10.0.0.1") }.filter { $0 == .allowed }.count == 3)
    }

    @Test func keysHaveBucketsOfTheirOwn() throws {
        let limiter = try RateLimiter(policy: RateLimitPolicy(rate: 1, burst: 1), clock: ManualClock())
        #expect(limiter.acquire("member-a") == .allowed)
        #expect(limiter.acquire("member-a") != .allowed)
        #expect(limiter.acquire("member-b") == .allowed)
    }

    @Test func memoryStaysBoundedHoweverManyKeysArrive() throws {
        let limiter = try RateLimiter(policy: RateLimitPolicy(rate: 1, burst: 1, maximumKeys: 100), clock: ManualClock())
        #expect(limiter.acquire("first") == .allowed)
        #expect(limiter.acquire("first") != .allowed)
        for address in 0..<10_000 { _ = limiter.acquire("spoofed-\(address)") }
        #expect(limiter.trackedKeys == 100)
        // The key tracked longest was forgotten: it starts again with a full bucket.
        #expect(limiter.acquire("first") == .allowed)
    }

    @Test func anInvalidPolicyIsRefusedByName() throws {
        for (policy, field) in [
            (RateLimitPolicy(rate: 0, burst: 1), "rate"), (RateLimitPolicy(rate: .infinity, burst: 1), "rate"),
            (RateLimitPolicy(rate: 1, burst: 0), "burst"), (RateLimitPolicy(rate: 1, burst: 1, maximumKeys: 0), "maximumKeys"),
        ] {
            let error = #expect(throws: ConfigurationError.self) { try RateLimiter(policy: policy, clock: ManualClock()) }
            #expect(error?.setting == "RateLimitPolicy.\(field)")
        }
    }
}
