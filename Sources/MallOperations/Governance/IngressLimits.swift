import Foundation
import Herald
import MallApplication
import MallKernel
import Resilience
import Synchronization

/// The limits every request meets on the way in, one set per server: log-ins per client
/// address and per account (``LoginGate``), registrations per address, orders per member,
/// and requests in flight. They start from the configuration and follow the governance
/// rules (`/admin/rules`) as they change: ``Follower/rules(_:limits:engine:interval:logger:)``
/// applies a new version within a second on every node.
public final class IngressLimits: Sendable {
    /// Why a request was refused on the way in (and which rate limit refused it).
    public enum Refusal: String, Sendable, CaseIterable {
        /// Failed log-ins from one client address.
        case failedLogins = "failed_logins"
        /// Log-ins from one client address, whatever their outcome.
        case logins
        /// Failed log-ins to one account, from addresses it has not logged in from.
        case failedLoginsPerAccount = "failed_logins_per_account"
        /// Successful log-ins to one account.
        case loginsPerAccount = "logins_per_account"
        case registrations
        case orders
        /// Payment gateway callbacks refused (bad signature, stale, wrong amount) from one
        /// client address: a fixed limit (``IngressLimits/refusedCallbackPolicy``), not a rule.
        case refusedCallbacks = "refused_callbacks"
        /// Shed: the server was at its limit of requests in flight.
        case overloaded

        /// The rule this limit follows; `nil` for ``overloaded`` and ``refusedCallbacks``.
        public func limit(in rules: GovernanceRules) -> GovernanceRules.Limit? {
            switch self {
            case .failedLogins: rules.failedLogins
            case .logins: rules.logins.perAddress
            case .failedLoginsPerAccount: rules.logins.failedPerAccount
            case .loginsPerAccount: rules.logins.perAccount
            case .registrations: rules.registrations
            case .orders: rules.orders
            case .refusedCallbacks, .overloaded: nil
            }
        }
    }

    private struct Current {
        var version: Int64
        var rules: GovernanceRules
        var limiters: [Refusal: RateLimiter]
    }

    private let clock: any HeraldClock
    private let current: Mutex<Current>
    private let inFlight = Atomic<Int>(0)
    private let callbacksInFlight = Atomic<Int>(0)
    /// The application's view of the rules, kept in step (``apply(_:version:)``).
    private let rulesInForce: RulesInForce?
    /// Addresses each account logged in from (``LoginGate``).
    public let knownAddresses: KnownAddresses
    /// Told of each refusal (the server's metrics count them).
    public let refused: @Sendable (Refusal) -> Void

    public init(
        _ configuration: MallConfiguration, clock: any HeraldClock, rulesInForce: RulesInForce? = nil,
        refused: @escaping @Sendable (Refusal) -> Void = { _ in }
    ) throws {
        self.clock = clock
        self.rulesInForce = rulesInForce
        self.refused = refused
        knownAddresses = KnownAddresses(clock: clock)
        refusedCallbacks = try RateLimiter(policy: Self.refusedCallbackPolicy, clock: clock)
        let rules = GovernanceRules(configuration)
        current = Mutex(Current(version: 0, rules: rules, limiters: try Self.limiters(rules, keeping: nil, clock: clock)))
    }

    /// A limiter per limit of `rules`: `old`'s where its rule is unchanged (its buckets kept,
    /// so a change of another rule gives no address a fresh burst), a fresh one otherwise.
    private static func limiters(_ rules: GovernanceRules, keeping old: Current?, clock: any HeraldClock) throws -> [Refusal: RateLimiter] {
        var limiters: [Refusal: RateLimiter] = [:]
        for refusal in Refusal.allCases {
            guard let limit = refusal.limit(in: rules) else { continue }
            if let old, refusal.limit(in: old.rules) == limit, let kept = old.limiters[refusal] {
                limiters[refusal] = kept
            } else {
                limiters[refusal] = try RateLimiter(policy: limit.policy, clock: clock)
            }
        }
        return limiters
    }

    public var version: Int64 { current.withLock { $0.version } }
    /// The rules in force on this node (the switches among them).
    public var rules: GovernanceRules { current.withLock { $0.rules } }

    /// The rules in force and their limiters, read together: what one request is checked
    /// against, whatever changes while it runs.
    public struct Snapshot {
        public let rules: GovernanceRules
        fileprivate let limiters: [Refusal: RateLimiter]

        /// `refusal`'s limiter in these rules.
        public func limiter(_ refusal: Refusal) -> RateLimiter? { limiters[refusal] }
    }

    /// The rules and limiters in force now (one read).
    public func snapshot() -> Snapshot { current.withLock { Snapshot(rules: $0.rules, limiters: $0.limiters) } }
    public var enabled: Bool { current.withLock { $0.rules.ingressLimits } }

    /// The limiter in force for `refusal` (every limit but ``Refusal/overloaded`` has one).
    public func limiter(_ refusal: Refusal) -> RateLimiter {
        if refusal == .refusedCallbacks { return refusedCallbacks }
        guard let limiter = current.withLock({ $0.limiters[refusal] }) else { preconditionFailure("no rate limit for \(refusal)") }
        return limiter
    }

    /// Refused callbacks one address may send: a gateway's are signed and go through; a
    /// sender of forgeries is soon answered 429 without a signature being checked.
    public static let refusedCallbackPolicy = RateLimitPolicy(rate: 1, burst: 100)
    private let refusedCallbacks: RateLimiter

    /// Puts `rules` in force if `version` is newer than the version in force. Versions only
    /// move forward: the follower's read from just before a change made through this node
    /// must not undo the change. A changed limit starts with full buckets; an unchanged one
    /// keeps its buckets, so a change of another rule gives no address a fresh burst.
    public func apply(_ rules: GovernanceRules, version: Int64) throws {
        let clock = clock
        try current.withLock { current in
            guard version > current.version else { return }
            defer { rulesInForce?.apply(rules, version: version) }
            current = Current(version: version, rules: rules, limiters: try Self.limiters(rules, keeping: current, clock: clock))
        }
    }

    /// Which places in flight a request takes.
    public enum Pool: Sendable {
        /// Every request but the gateway's callbacks: ``GovernanceRules/maxRequestsInFlight``.
        case shared
        /// The payment gateway's callbacks: ``IngressLimits/callbackPlaces``.
        case callbacks
    }

    /// Places for the payment gateway's callbacks, apart from everyone else's.
    public static let callbackPlaces = 256

    /// Takes a place of `pool` for a request; `false` when all are taken (the request is shed).
    public func enter(_ pool: Pool = .shared) -> Bool {
        switch pool {
        case .shared: Self.take(inFlight, limit: current.withLock { $0.rules.maxRequestsInFlight })
        case .callbacks: Self.take(callbacksInFlight, limit: Self.callbackPlaces)
        }
    }

    private static func take(_ counter: borrowing Atomic<Int>, limit: Int) -> Bool {
        if counter.wrappingAdd(1, ordering: .relaxed).newValue <= limit { return true }
        counter.wrappingSubtract(1, ordering: .relaxed)
        return false
    }

    public func leave(_ pool: Pool = .shared) {
        switch pool {
        case .shared: inFlight.wrappingSubtract(1, ordering: .relaxed)
        case .callbacks: callbacksInFlight.wrappingSubtract(1, ordering: .relaxed)
        }
    }

    /// Takes a token of `key` from `refusal`'s limiter, or throws ``TooManyRequests`` (and
    /// counts the refusal).
    public func acquire(_ refusal: Refusal, _ key: String, _ what: String) throws {
        try require(limiter(refusal).acquire(key), refusal, what)
    }

    /// Throws ``TooManyRequests`` when `decision` is a refusal, and counts it as `refusal`.
    /// The answer is held back for the wait, up to ``refusalHoldBack``.
    public func require(_ decision: RateLimiter.Decision, _ refusal: Refusal, _ what: String) throws {
        guard case .limited(let retryAfter) = decision else { return }
        refused(refusal)
        throw TooManyRequests(what, retryAfter: retryAfter, holdBack: min(retryAfter, Self.refusalHoldBack))
    }

    /// The longest a refusal by a rate limit is held back (``TooManyRequests/holdBack``):
    /// 64 connections storming one account, refused as fast as two cores could answer, left
    /// the password hashing (idle priority) nothing, and other members' log-ins waited 28 s;
    /// held back, each connection gets a refusal a second (`mall-bench --login-storm`).
    public static let refusalHoldBack: Duration = .seconds(1)
}

/// The client addresses each account logged in from successfully, for the last 30 days, in
/// bounded memory (the oldest pairs are forgotten first). Kept per node: on several nodes a
/// member is known where they logged in before, and at worst waits the refill elsewhere.
public final class KnownAddresses: Sendable {
    public static let capacity = 100_000
    public static let lifetime: TimeInterval = 30 * 24 * 3600

    private struct State {
        var seen: [String: Date] = [:]
        var arrivals = ArrivalRing<String>(capacity: KnownAddresses.capacity)
    }

    private let clock: any HeraldClock
    private let state = Mutex(State())

    public init(clock: any HeraldClock) { self.clock = clock }

    public func remember(_ address: String, for account: String) {
        let key = Self.key(address, account), now = clock.now()
        state.withLock { state in
            if state.seen.updateValue(now, forKey: key) == nil, let forgotten = state.arrivals.admit(key) { state.seen[forgotten] = nil }
        }
    }

    public func contains(_ address: String, for account: String) -> Bool {
        let key = Self.key(address, account), now = clock.now()
        return state.withLock { state in
            guard let seen = state.seen[key] else { return false }
            return now.timeIntervalSince(seen) < Self.lifetime
        }
    }

    private static func key(_ address: String, _ account: String) -> String { address + " " + account }
}
