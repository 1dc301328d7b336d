import Foundation
import Herald
import Synchronization

/// How fast one key (a client address, a member, a route) may go: a token bucket.
///
/// A key starts with ``burst`` tokens; each request takes one; tokens come back at ``rate``
/// per second up to ``burst``. At most ``maximumKeys`` keys are tracked (see ``RateLimiter``).
public struct RateLimitPolicy: Sendable, Hashable {
    /// Tokens added per second (more than 0, at most 1,000,000).
    public var rate: Double
    /// The most tokens a key holds: requests it may make at once after a quiet spell.
    public var burst: Int
    /// Keys tracked at most (memory stays bounded however many keys arrive).
    public var maximumKeys: Int

    public init(rate: Double, burst: Int, maximumKeys: Int = 100_000) {
        self.rate = rate
        self.burst = burst
        self.maximumKeys = maximumKeys
    }

    /// - Throws: ``ConfigurationError`` naming the field, the value and the allowed range.
    public func validate() throws {
        guard rate > 0, rate <= 1_000_000, rate.isFinite else {
            throw ConfigurationError(setting: "RateLimitPolicy.rate", value: "\(rate)", allowed: "more than 0, at most 1000000 per second")
        }
        guard (1...1_000_000).contains(burst) else {
            throw ConfigurationError(setting: "RateLimitPolicy.burst", value: "\(burst)", allowed: "1...1000000")
        }
        guard (1...10_000_000).contains(maximumKeys) else {
            throw ConfigurationError(setting: "RateLimitPolicy.maximumKeys", value: "\(maximumKeys)", allowed: "1...10000000")
        }
    }
}

/// Token buckets by key, in bounded memory.
///
/// When ``RateLimitPolicy/maximumKeys`` keys are tracked and a new one arrives, the key
/// tracked longest is forgotten and starts again with a full bucket: choose the bound
/// above the number of keys active within one refill (`burst / rate` seconds), or a flood
/// of new keys (spoofed addresses) can wash out the limits of the others.
///
/// ```swift
/// let logins = try RateLimiter(policy: RateLimitPolicy(rate: 1, burst: 10), clock: SystemClock())
/// if case .limited(let retryAfter) = logins.acquire(clientAddress) { /* 429 with Retry-After */ }
/// ```
public final class RateLimiter: Sendable {
    public enum Decision: Sendable, Hashable {
        case allowed
        /// No token now: one will be there after `retryAfter`.
        case limited(retryAfter: Duration)
    }

    private struct Bucket {
        var tokens: Double
        var updated: Date
    }

    private struct Buckets {
        var byKey: [String: Bucket] = [:]
        var arrivals: ArrivalRing<String>
    }

    public let policy: RateLimitPolicy
    private let clock: any HeraldClock
    private let buckets: Mutex<Buckets>

    /// - Throws: ``ConfigurationError`` for an invalid policy.
    public init(policy: RateLimitPolicy, clock: any HeraldClock) throws {
        try policy.validate()
        self.policy = policy
        self.clock = clock
        buckets = Mutex(Buckets(arrivals: ArrivalRing(capacity: policy.maximumKeys)))
    }

    /// Takes a token of `key`'s bucket if it has one.
    public func acquire(_ key: String) -> Decision {
        let now = clock.now()
        let policy = policy
        return buckets.withLock { buckets in
            // One lookup for the read and the write: the bucket is changed in place.
            let known = buckets.byKey.count
            let decision = Self.take(from: &buckets.byKey[key, default: Bucket(tokens: Double(policy.burst), updated: now)], at: now, policy)
            if buckets.byKey.count > known, let forgotten = buckets.arrivals.admit(key) { buckets.byKey[forgotten] = nil }
            return decision
        }
    }

    private static func take(from bucket: inout Bucket, at now: Date, _ policy: RateLimitPolicy) -> Decision {
        let elapsed = max(0, now.timeIntervalSince(bucket.updated))
        bucket.tokens = min(Double(policy.burst), bucket.tokens + elapsed * policy.rate)
        bucket.updated = max(now, bucket.updated)
        guard bucket.tokens >= 1 else { return .limited(retryAfter: .seconds((1 - bucket.tokens) / policy.rate)) }
        bucket.tokens -= 1
        return .allowed
    }

    /// Puts back a token ``acquire(_:)`` took (up to the burst): for a limit on outcomes
    /// known only afterwards, such as failed log-ins, a token is taken before the work, so
    /// a wave of simultaneous requests cannot all pass while the bucket still shows one,
    /// and given back when the outcome does not count (the log-in succeeded).
    public func giveBack(_ key: String) {
        let now = clock.now()
        let policy = policy
        buckets.withLock { buckets in
            guard var bucket = buckets.byKey[key] else { return }  // forgotten meanwhile: it starts full anyway
            let elapsed = max(0, now.timeIntervalSince(bucket.updated))
            bucket.tokens = min(Double(policy.burst), bucket.tokens + elapsed * policy.rate + 1)
            bucket.updated = max(now, bucket.updated)
            buckets.byKey[key] = bucket
        }
    }

    /// Whether `key` has a token now, without taking it (a key never seen has a full bucket).
    /// Not a reservation: of requests checked at once, every one sees the same token. To
    /// limit what runs at once, ``acquire(_:)`` before and ``giveBack(_:)`` after.
    public func check(_ key: String) -> Decision {
        let now = clock.now()
        let policy = policy
        return buckets.withLock { buckets in
            guard let bucket = buckets.byKey[key] else { return .allowed }
            let tokens = min(Double(policy.burst), bucket.tokens + max(0, now.timeIntervalSince(bucket.updated)) * policy.rate)
            return tokens >= 1 ? .allowed : .limited(retryAfter: .seconds((1 - tokens) / policy.rate))
        }
    }

    /// How many keys are tracked.
    public var trackedKeys: Int { buckets.withLock { $0.byKey.count } }
}
