import Foundation
import Synchronization
import Herald
import MallGateway
import MallKernel
import Resilience

/// The governance rules an operator changes while the shop runs (`/admin/rules`): the
/// ingress limits, the payment gateway client's protection and the degradation switches. Until a rule is first set, the
/// configuration's values are in force (every switch off).
public struct GovernanceRules: Codable, Sendable, Hashable {
    /// A rate limit as operators write it: tokens per minute, and the burst.
    public struct Limit: Codable, Sendable, Hashable {
        public var perMinute: Double
        public var burst: Int

        public init(perMinute: Double, burst: Int) {
            self.perMinute = perMinute
            self.burst = burst
        }

        /// The refills accepted, per minute (settings and `/admin/rules` alike).
        public static let perMinuteRange = 0.01...1_000_000.0
        /// The bursts accepted.
        public static let burstRange = 1...1_000_000

        /// (Per minute rounded to nine decimals: 6 a minute is 0.1 a second, and back is 6, not 6.000000000000001.)
        init(_ policy: RateLimitPolicy) { self.init(perMinute: (policy.rate * 60 * 1e9).rounded() / 1e9, burst: policy.burst) }

        public var policy: RateLimitPolicy { RateLimitPolicy(rate: perMinute / 60, burst: burst) }
    }

    /// How Mall calls the payment gateway: its timeout, breaker and bulkhead.
    public struct GatewayCalls: Codable, Sendable, Hashable {
        /// A call taking longer fails (0.1 ... 60).
        public var timeoutSeconds: Double
        /// The share of failed calls, in percent, that opens the breaker (1 ... 100).
        public var failureRatePercent: Int
        /// How long the open breaker turns calls away before it probes (1 ... 3600).
        public var waitInOpenSeconds: Int
        /// Calls at once (1 ... 10,000); as many again may wait.
        public var maxConcurrent: Int

        public init(timeoutSeconds: Double, failureRatePercent: Int, waitInOpenSeconds: Int, maxConcurrent: Int) {
            self.timeoutSeconds = timeoutSeconds
            self.failureRatePercent = failureRatePercent
            self.waitInOpenSeconds = waitInOpenSeconds
            self.maxConcurrent = maxConcurrent
        }

        /// The client's defaults, with `timeout`.
        public init(timeout: Duration) { self.init(HTTPPaymentGateway.Settings(timeout: timeout)) }

        /// The rules that give these client settings (``settings`` read back).
        public init(_ settings: HTTPPaymentGateway.Settings) {
            self.init(
                timeoutSeconds: settings.timeout.timeInterval, failureRatePercent: Int((settings.breaker.failureRateThreshold * 100).rounded()),
                waitInOpenSeconds: Int(settings.breaker.waitInOpen.components.seconds), maxConcurrent: settings.maxConcurrent)
        }

        /// The client's settings these rules give.
        public var settings: HTTPPaymentGateway.Settings {
            var settings = HTTPPaymentGateway.Settings(timeout: .milliseconds(Int64((timeoutSeconds * 1000).rounded())))
            settings.breaker.failureRateThreshold = Double(failureRatePercent) / 100
            settings.breaker.waitInOpen = .seconds(waitInOpenSeconds)
            settings.maxConcurrent = maxConcurrent
            settings.maxWaiting = maxConcurrent * 4
            return settings
        }

        func validate() throws {
            guard timeoutSeconds >= 0.1, timeoutSeconds <= 60 else { throw InvalidInput(field: "rules.gateway.timeoutSeconds", "a number 0.1 ... 60") }
            guard (1...100).contains(failureRatePercent) else { throw InvalidInput(field: "rules.gateway.failureRatePercent", "an integer 1 ... 100") }
            guard (1...3600).contains(waitInOpenSeconds) else { throw InvalidInput(field: "rules.gateway.waitInOpenSeconds", "an integer 1 ... 3600") }
            guard (1...10_000).contains(maxConcurrent) else { throw InvalidInput(field: "rules.gateway.maxConcurrent", "an integer 1 ... 10000") }
        }
    }

    /// The limits on log-ins beyond ``failedLogins`` (per address).
    public struct LoginLimits: Codable, Sendable, Hashable {
        /// Log-ins from one client address, whatever their outcome: no address keeps the
        /// password hashing busy, with right passwords or wrong.
        public var perAddress: Limit
        /// Failed log-ins to one account, from any address: an attacker rotating addresses
        /// against one account slows to this. An address the account logged in from before
        /// is exempt, so a stranger cannot lock the member out.
        public var failedPerAccount: Limit
        /// Successful log-ins to one account: whoever holds a password cannot keep the
        /// hashing busy with it (only the password's holder can spend these).
        public var perAccount: Limit

        public init(perAddress: Limit, failedPerAccount: Limit, perAccount: Limit) {
            self.perAddress = perAddress
            self.failedPerAccount = failedPerAccount
            self.perAccount = perAccount
        }

        /// The configuration's.
        public init(_ configuration: MallConfiguration) {
            self.init(
                perAddress: Limit(configuration.loginLimitPerAddress), failedPerAccount: Limit(configuration.failedLoginLimitPerAccount),
                perAccount: Limit(configuration.loginLimitPerAccount))
        }
    }

    /// Failed log-ins from one client address.
    public var failedLogins: Limit
    public var logins: LoginLimits
    public var registrations: Limit
    public var orders: Limit
    public var maxRequestsInFlight: Int
    public var ingressLimits: Bool
    /// Degradation switch: `POST /orders` answers 503 with `Retry-After`; payments, gateway
    /// callbacks, cancellations and refunds go on (the orders already taken complete).
    public var newOrdersPaused: Bool
    /// Degradation switch: a text search (`q`) answers with the plain listing (its category,
    /// if given), marked `Mall-Degraded: search`, sparing the search's cost.
    public var searchDegraded: Bool
    /// Degradation switch: quotes leave promotions out (member price and list price still
    /// apply, coupons too), marked `Mall-Degraded: promotions`; orders placed meanwhile are
    /// priced so.
    public var promotionsOff: Bool
    /// Degradation switch: coupons are redeemed (and given back) later. Orders with a coupon
    /// are taken at the coupon's price and wait as submitted, marked
    /// `Mall-Degraded: coupons`; once it is off each is redeemed in turn, and an order whose
    /// coupon was used meanwhile by an earlier one is cancelled (coupon rejected).
    public var couponsDeferred: Bool
    public var gateway: GatewayCalls

    public init(
        failedLogins: Limit, logins: LoginLimits = LoginLimits(MallConfiguration()), registrations: Limit, orders: Limit,
        maxRequestsInFlight: Int, ingressLimits: Bool,
        newOrdersPaused: Bool = false, searchDegraded: Bool = false, promotionsOff: Bool = false, couponsDeferred: Bool = false,
        gateway: GatewayCalls = GatewayCalls(timeout: .seconds(2))
    ) {
        self.failedLogins = failedLogins
        self.logins = logins
        self.registrations = registrations
        self.orders = orders
        self.maxRequestsInFlight = maxRequestsInFlight
        self.ingressLimits = ingressLimits
        self.newOrdersPaused = newOrdersPaused
        self.searchDegraded = searchDegraded
        self.promotionsOff = promotionsOff
        self.couponsDeferred = couponsDeferred
        self.gateway = gateway
    }

    private enum CodingKeys: String, CodingKey {
        case failedLogins, logins, registrations, orders, maxRequestsInFlight, ingressLimits, newOrdersPaused, searchDegraded, promotionsOff
        case couponsDeferred, gateway
    }

    /// Rules stored before a switch existed read it as off; before the log-in limits
    /// existed, as the defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            failedLogins: try container.decode(Limit.self, forKey: .failedLogins),
            logins: try container.decodeIfPresent(LoginLimits.self, forKey: .logins) ?? LoginLimits(MallConfiguration()),
            registrations: try container.decode(Limit.self, forKey: .registrations),
            orders: try container.decode(Limit.self, forKey: .orders),
            maxRequestsInFlight: try container.decode(Int.self, forKey: .maxRequestsInFlight),
            ingressLimits: try container.decode(Bool.self, forKey: .ingressLimits),
            newOrdersPaused: try container.decodeIfPresent(Bool.self, forKey: .newOrdersPaused) ?? false,
            searchDegraded: try container.decodeIfPresent(Bool.self, forKey: .searchDegraded) ?? false,
            promotionsOff: try container.decodeIfPresent(Bool.self, forKey: .promotionsOff) ?? false,
            couponsDeferred: try container.decodeIfPresent(Bool.self, forKey: .couponsDeferred) ?? false,
            gateway: try container.decodeIfPresent(GatewayCalls.self, forKey: .gateway) ?? GatewayCalls(timeout: .seconds(2)))
    }

    /// The rules a configuration starts with.
    public init(_ configuration: MallConfiguration) {
        self.init(
            failedLogins: Limit(configuration.failedLoginLimit), logins: LoginLimits(configuration),
            registrations: Limit(configuration.registrationLimit),
            orders: Limit(configuration.orderLimit), maxRequestsInFlight: configuration.maxRequestsInFlight,
            ingressLimits: configuration.ingressLimits, gateway: GatewayCalls(timeout: configuration.gatewayTimeout))
    }

    /// The limits of requests in flight accepted.
    public static let maxRequestsInFlightRange = 1...1_000_000

    /// - Throws: ``InvalidInput`` naming the rule's field and what it allows.
    public func validate() throws {
        let perMinute = Limit.perMinuteRange, burst = Limit.burstRange, inFlight = Self.maxRequestsInFlightRange
        let named = [
            ("failedLogins", failedLogins), ("logins.perAddress", logins.perAddress), ("logins.failedPerAccount", logins.failedPerAccount),
            ("logins.perAccount", logins.perAccount), ("registrations", registrations), ("orders", orders),
        ]
        for (name, limit) in named {
            guard perMinute.contains(limit.perMinute) else {
                throw InvalidInput(field: "rules.\(name).perMinute", "a number \(perMinute.lowerBound) ... \(Int(perMinute.upperBound))")
            }
            guard burst.contains(limit.burst) else {
                throw InvalidInput(field: "rules.\(name).burst", "an integer \(burst.lowerBound) ... \(burst.upperBound)")
            }
        }
        guard inFlight.contains(maxRequestsInFlight) else {
            throw InvalidInput(field: "rules.maxRequestsInFlight", "an integer \(inFlight.lowerBound) ... \(inFlight.upperBound)")
        }
        try gateway.validate()
    }
}

/// The rules in force on this node, and their version: what the use cases consult for the
/// degradation switches (the ingress limits keep their own rate limiters beside it). Versions
/// only move forward.
public final class RulesInForce: Sendable {
    private let current: Mutex<(version: Int64, rules: GovernanceRules)>
    private let observers = Mutex<[@Sendable (GovernanceRules) -> Void]>([])

    public init(_ rules: GovernanceRules) { current = Mutex((0, rules)) }

    /// Calls `body` with every new version put in force (not with the one in force now).
    public func observe(_ body: @escaping @Sendable (GovernanceRules) -> Void) {
        observers.withLock { $0.append(body) }
    }

    public var rules: GovernanceRules { current.withLock { $0.rules } }
    public var version: Int64 { current.withLock { $0.version } }

    /// Puts `rules` in force if `version` is newer; whether it was.
    @discardableResult
    public func apply(_ rules: GovernanceRules, version: Int64) -> Bool {
        let applied = current.withLock { current in
            guard version > current.version else { return false }
            current = (version, rules)
            return true
        }
        if applied { for observer in observers.withLock({ $0 }) { observer(rules) } }
        return applied
    }
}

extension GovernanceRules {
    /// Every rule by its name (as `mall rules` shows and sets them), with its value as text.
    public var settings: [(name: String, value: String)] {
        func number(_ value: Double) -> String { value == value.rounded() ? String(Int64(value)) : String(value) }
        return [
            ("failed-logins.per-minute", number(failedLogins.perMinute)), ("failed-logins.burst", String(failedLogins.burst)),
            ("logins.per-address.per-minute", number(logins.perAddress.perMinute)), ("logins.per-address.burst", String(logins.perAddress.burst)),
            ("logins.failed-per-account.per-minute", number(logins.failedPerAccount.perMinute)),
            ("logins.failed-per-account.burst", String(logins.failedPerAccount.burst)),
            ("logins.per-account.per-minute", number(logins.perAccount.perMinute)), ("logins.per-account.burst", String(logins.perAccount.burst)),
            ("registrations.per-minute", number(registrations.perMinute)), ("registrations.burst", String(registrations.burst)),
            ("orders.per-minute", number(orders.perMinute)), ("orders.burst", String(orders.burst)),
            ("max-requests-in-flight", String(maxRequestsInFlight)), ("ingress-limits", ingressLimits ? "on" : "off"),
            ("new-orders-paused", newOrdersPaused ? "on" : "off"), ("search-degraded", searchDegraded ? "on" : "off"),
            ("promotions-off", promotionsOff ? "on" : "off"), ("coupons-deferred", couponsDeferred ? "on" : "off"),
            ("gateway.timeout-seconds", number(gateway.timeoutSeconds)), ("gateway.failure-rate-percent", String(gateway.failureRatePercent)),
            ("gateway.wait-in-open-seconds", String(gateway.waitInOpenSeconds)), ("gateway.max-concurrent", String(gateway.maxConcurrent)),
        ]
    }

    /// These rules with the one called `name` set to `value`.
    ///
    /// - Throws: ``InvalidInput`` naming the rule when there is none of that name or the
    ///   value is not of its kind (the ranges are checked by ``validate()``).
    public func setting(_ name: String, to value: String) throws -> GovernanceRules {
        var rules = self
        func number() throws -> Double {
            guard let number = Double(value), number.isFinite else { throw InvalidInput(field: name, "a number, not \(value)") }
            return number
        }
        func integer() throws -> Int {
            guard let integer = Int(value) else { throw InvalidInput(field: name, "an integer, not \(value)") }
            return integer
        }
        func on() throws -> Bool {
            guard value == "on" || value == "off" else { throw InvalidInput(field: name, "on or off, not \(value)") }
            return value == "on"
        }
        switch name {
        case "failed-logins.per-minute": rules.failedLogins.perMinute = try number()
        case "failed-logins.burst": rules.failedLogins.burst = try integer()
        case "logins.per-address.per-minute": rules.logins.perAddress.perMinute = try number()
        case "logins.per-address.burst": rules.logins.perAddress.burst = try integer()
        case "logins.failed-per-account.per-minute": rules.logins.failedPerAccount.perMinute = try number()
        case "logins.failed-per-account.burst": rules.logins.failedPerAccount.burst = try integer()
        case "logins.per-account.per-minute": rules.logins.perAccount.perMinute = try number()
        case "logins.per-account.burst": rules.logins.perAccount.burst = try integer()
        case "registrations.per-minute": rules.registrations.perMinute = try number()
        case "registrations.burst": rules.registrations.burst = try integer()
        case "orders.per-minute": rules.orders.perMinute = try number()
        case "orders.burst": rules.orders.burst = try integer()
        case "max-requests-in-flight": rules.maxRequestsInFlight = try integer()
        case "ingress-limits": rules.ingressLimits = try on()
        case "new-orders-paused": rules.newOrdersPaused = try on()
        case "search-degraded": rules.searchDegraded = try on()
        case "promotions-off": rules.promotionsOff = try on()
        case "coupons-deferred": rules.couponsDeferred = try on()
        case "gateway.timeout-seconds": rules.gateway.timeoutSeconds = try number()
        case "gateway.failure-rate-percent": rules.gateway.failureRatePercent = try integer()
        case "gateway.wait-in-open-seconds": rules.gateway.waitInOpenSeconds = try integer()
        case "gateway.max-concurrent": rules.gateway.maxConcurrent = try integer()
        default:
            throw InvalidInput(field: name, "no such rule; the rules are " + settings.map(\.name).joined(separator: ", "))
        }
        return rules
    }

    /// The rules whose values differ from `other`'s, as "name old → new".
    public func changes(from other: GovernanceRules) -> [String] {
        zip(other.settings, settings).filter { $0.value != $1.value }.map { "\($1.name) \($0.value) → \($1.value)" }
    }
}
