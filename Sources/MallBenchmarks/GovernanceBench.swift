import Foundation
import Herald
import Resilience
import Synchronization

/// `mall-bench --governance`: what protection costs.
///
/// 1. `governance_overhead_us`: a call through a closed circuit breaker, a rate limiter
///    that allows it (a thousand keys in turn) and a bulkhead with room, minus the same bare
///    call, in microseconds, in process. Bare and governed rounds alternate (three each); the medians are compared.
/// 2. `orders_governance_on_vs_off`: orders end to end (as the default benchmark) against
///    two `mall serve` processes started alternately with the ingress limits on (the
///    limiter consulted on every order, at a limit it never reaches) and off
///    (`MALL_INGRESS_LIMITS=off`), two runs of each in the order on, off, off, on
///    (``MallBench/onVersusOff(_:name:orders:concurrency:members:)``).
enum GovernanceBench {
    static func run(orders: Int, concurrency: Int, members: Int) async throws -> [(String, Double)] {
        try await overhead(calls: 1_000_000)
            + MallBench.onVersusOff("MALL_INGRESS_LIMITS", name: "governance", orders: orders, concurrency: concurrency, members: members)
    }

    /// Nanoseconds per call, bare and governed, and the difference in microseconds.
    static func overhead(calls: Int) async throws -> [(String, Double)] {
        let clock = SystemClock()
        let breaker = try CircuitBreaker(name: "bench", policy: CircuitBreakerPolicy(), clock: clock)
        let limiter = try RateLimiter(policy: RateLimitPolicy(rate: 1_000_000, burst: 1_000_000), clock: clock)
        let bulkhead = try Bulkhead(name: "bench", policy: BulkheadPolicy(maxConcurrent: 64), clock: clock)
        let dependency = Dependency()
        // A thousand members taking turns: every bucket keeps tokens for the whole run.
        let keys = (0..<1000).map { "member-\($0)" }
        var bare: [Double] = [], governed: [Double] = []
        for _ in 0..<3 {
            bare.append(try await nanosecondsPerCall(calls) { try await dependency.call() })
            var next = 0
            governed.append(try await nanosecondsPerCall(calls) {
                next = next == keys.count - 1 ? 0 : next + 1
                guard limiter.acquire(keys[next]) == .allowed else { throw BenchError("rate limited") }
                return try await bulkhead.run { try await breaker.run { try await dependency.call() } }
            })
        }
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        return [
            ("bare_call_ns", median(bare)), ("governed_call_ns", median(governed)),
            ("governance_overhead_us", (median(governed) - median(bare)) / 1000),
        ]
    }

    private static func nanosecondsPerCall(_ calls: Int, _ call: () async throws -> Int) async throws -> Double {
        var sink = 0
        let start = ContinuousClock.now
        for _ in 0..<calls { sink &+= try await call() }
        let elapsed = ContinuousClock.now - start
        if sink == 42 { print("") }  // keeps the calls from being optimised away
        return Double(elapsed.components.seconds) * 1e9 / Double(calls) + Double(elapsed.components.attoseconds) / 1e9 / Double(calls)
    }
}

/// The protected call: a counter bump, so what is measured is the protection.
final class Dependency: Sendable {
    private let count = Mutex(0)
    func call() async throws -> Int { count.withLock { $0 += 1; return $0 } }
}
