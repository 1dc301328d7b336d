import Herald
import Logging
import ServiceLifecycle
import Foundation
import HTTPTypes
import Hummingbird
import MallApp
import MallKernel
import NIOCore
import Resilience
import Synchronization

/// The limits every request meets on the way in, one set per server: failed log-ins and
/// registrations per client address, orders per member, and requests in flight. They start
/// from the configuration and follow the governance rules (`/admin/rules`) as they change:
/// ``Follower/rules(_:limits:clock:logger:)`` applies a new version within a second on every node.
final class IngressLimits: Sendable {
    /// Why a request was refused on the way in.
    enum Refusal: String, Sendable, CaseIterable {
        case failedLogins = "failed_logins"
        case registrations
        case orders
        /// Shed: the server was at its limit of requests in flight.
        case overloaded
    }

    private struct Current {
        var version: Int64
        var rules: GovernanceRules
        var failedLogins: RateLimiter
        var registrations: RateLimiter
        var orders: RateLimiter
    }

    private let clock: any HeraldClock
    private let current: Mutex<Current>
    private let inFlight = Atomic<Int>(0)
    /// The application's view of the rules, kept in step (``apply(_:version:)``).
    private let rulesInForce: RulesInForce?
    /// Told of each refusal (the server's metrics count them).
    let refused: @Sendable (Refusal) -> Void

    init(
        _ configuration: MallConfiguration, clock: any HeraldClock, rulesInForce: RulesInForce? = nil,
        refused: @escaping @Sendable (Refusal) -> Void = { _ in }
    ) throws {
        self.clock = clock
        self.rulesInForce = rulesInForce
        self.refused = refused
        let rules = GovernanceRules(configuration)
        current = Mutex(Current(
            version: 0, rules: rules, failedLogins: try RateLimiter(policy: rules.failedLogins.policy, clock: clock),
            registrations: try RateLimiter(policy: rules.registrations.policy, clock: clock),
            orders: try RateLimiter(policy: rules.orders.policy, clock: clock)))
    }

    var version: Int64 { current.withLock { $0.version } }
    /// The rules in force on this node (the switches among them).
    var rules: GovernanceRules { current.withLock { $0.rules } }
    var enabled: Bool { current.withLock { $0.rules.ingressLimits } }
    var failedLogins: RateLimiter { current.withLock { $0.failedLogins } }
    var registrations: RateLimiter { current.withLock { $0.registrations } }
    var orders: RateLimiter { current.withLock { $0.orders } }

    /// Puts `rules` in force if `version` is newer than the version in force. Versions only
    /// move forward: the follower's read from just before a change made through this node
    /// must not undo the change. A changed limit starts with full buckets; an unchanged one
    /// keeps its buckets, so a change of another rule gives no address a fresh burst.
    func apply(_ rules: GovernanceRules, version: Int64) throws {
        let clock = clock
        try current.withLock { current in
            guard version > current.version else { return }
            defer { rulesInForce?.apply(rules, version: version) }
            func limiter(_ old: GovernanceRules.Limit, _ new: GovernanceRules.Limit, kept: RateLimiter) throws -> RateLimiter {
                old == new ? kept : try RateLimiter(policy: new.policy, clock: clock)
            }
            current = Current(
                version: version, rules: rules,
                failedLogins: try limiter(current.rules.failedLogins, rules.failedLogins, kept: current.failedLogins),
                registrations: try limiter(current.rules.registrations, rules.registrations, kept: current.registrations),
                orders: try limiter(current.rules.orders, rules.orders, kept: current.orders))
        }
    }

    /// Takes a place for a request; `false` when all are taken (the request is shed).
    func enter() -> Bool {
        let limit = current.withLock { $0.rules.maxRequestsInFlight }
        if inFlight.wrappingAdd(1, ordering: .relaxed).newValue <= limit { return true }
        inFlight.wrappingSubtract(1, ordering: .relaxed)
        return false
    }

    func leave() { inFlight.wrappingSubtract(1, ordering: .relaxed) }

    /// Throws ``TooManyRequests`` when `decision` is a refusal, and counts it as `refusal`.
    func require(_ decision: RateLimiter.Decision, _ refusal: Refusal, _ what: String) throws {
        guard case .limited(let retryAfter) = decision else { return }
        refused(refusal)
        throw TooManyRequests(what, retryAfter: retryAfter)
    }
}

/// Sheds requests beyond ``MallConfiguration/maxRequestsInFlight`` at once with 503 and
/// `Retry-After`: under overload, some callers get a quick refusal instead of everyone
/// getting an ever slower answer. Health checks are never shed.
struct LoadSheddingMiddleware: RouterMiddleware {
    typealias Context = MallRequestContext
    let limits: IngressLimits

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !request.uri.path.hasPrefix("/health/"), limits.enabled else { return try await next(request, context) }
        guard limits.enter() else {
            limits.refused(.overloaded)
            return Problem(.serviceUnavailable, slug: "overloaded", detail: "the server is at its limit of requests in flight; retry shortly")
                .response(headers: [.retryAfter: "1"])
        }
        defer { limits.leave() }
        return try await next(request, context)
    }
}

/// One token of `limiter` per request, by the key `key` gives the request (its client
/// address, its member): registrations per address, orders per member.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = MallRequestContext
    let limits: IngressLimits
    /// The limiter in force now (rules change while the server runs).
    let limiter: @Sendable (IngressLimits) -> RateLimiter
    /// What a refusal counts as.
    let refusal: IngressLimits.Refusal
    /// What is limited, for the problem's detail: "orders from this member".
    let what: String
    let key: @Sendable (Context) throws -> String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard limits.enabled else { return try await next(request, context) }
        try limits.require(limiter(limits).acquire(try key(context)), refusal, what)
        return try await next(request, context)
    }
}

/// The `newOrdersPaused` switch: new orders are refused with 503 and `Retry-After` while it
/// is on; everything after an order (payments, callbacks, cancellations, refunds) goes on.
struct NewOrdersSwitchMiddleware: RouterMiddleware {
    typealias Context = MallRequestContext
    let limits: IngressLimits

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !limits.rules.newOrdersPaused else { throw NewOrdersPaused() }
        return try await next(request, context)
    }
}

/// The `promotionsOff` switch: responses that carry a quote (the cart, a product, a new
/// order) are marked `Mall-Degraded: promotions` while it is on (the pricing left the
/// promotions out: ``RulesInForce``).
struct PromotionsOffMarker: RouterMiddleware {
    typealias Context = MallRequestContext
    let rules: RulesInForce

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let off = rules.rules.promotionsOff  // as the quote saw it: read before
        var response = try await next(request, context)
        if off { response.headers.append(HTTPField(name: .mallDegraded, value: "promotions")) }
        return response
    }
}

extension HTTPField.Name {
    /// Which feature a degradation switch has turned off for this response.
    static let mallDegraded = HTTPField.Name("Mall-Degraded")!
}

/// The operator paused new orders (a degradation switch).
struct NewOrdersPaused: MallProblem {
    var kind: ProblemKind { .overloaded }
    var description: String { "new orders are paused for now; orders already placed go on. Retry later" }
}

/// Failed log-ins per client address: an address out of tokens is refused before its
/// password is hashed; a log-in that fails (401) takes a token, one that succeeds none.
struct FailedLoginLimitMiddleware: RouterMiddleware {
    typealias Context = MallRequestContext
    let limits: IngressLimits

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard limits.enabled else { return try await next(request, context) }
        let address = context.clientAddress
        try limits.require(limits.failedLogins.check(address), .failedLogins, "failed log-ins from this address")
        do {
            return try await next(request, context)
        } catch let problem as any MallProblem where problem.kind == .unauthenticated {
            _ = limits.failedLogins.acquire(address)
            throw problem
        }
    }
}

/// Runs `step` every `interval` until the service group shuts down: what each node does to
/// follow what is stored (the governance rules, the running drill). A step that fails is
/// logged once per outage, not every time, and the next is tried as usual.
struct Follower: Service {
    /// What the step does, for the log: e.g. "read the governance rules".
    let what: String
    let clock: any HeraldClock
    /// The polling interval: the longest a change waits when its announcement is lost.
    let interval: Duration
    /// Announcements of a change (``HeraldEngine/announce(_:)``), which wake it at once.
    let wake: CommitSignal
    let logger: Logger
    let step: @Sendable () async throws -> Void

    func run() async throws {
        var failing = false
        await wake.repeatedly(every: interval, clock: clock) {
            do {
                try await step()
                if failing { logger.info("could \(what) again") }
                failing = false
            } catch {
                if !failing { logger.warning("could not \(what); what is in force stays", metadata: ["error": "\(error)"]) }
                failing = true
            }
        }
    }
}

extension Follower {
    /// Puts a new version of the stored governance rules in force
    /// (``IngressLimits/apply(_:version:)``). Every node runs one, so a change made through
    /// any node is in force on all as soon as its announcement arrives (PostgreSQL's
    /// NOTIFY; on SQLite only in the process that made it), and within `interval` and a
    /// read whatever happens to the announcement.
    static func rules(_ governance: GovernanceService, limits: IngressLimits, engine: HeraldEngine, interval: Duration, logger: Logger) -> Follower {
        Follower(
            what: "read the governance rules", clock: engine.clock, interval: interval,
            wake: engine.announcements.signal(GovernanceService.topic), logger: logger
        ) {
            let (version, rules) = try await governance.current()
            if version > limits.version {
                try limits.apply(rules, version: version)
                logger.info("governance rules version \(version) in force")
            }
        }
    }

    /// Puts the running fault drill in force on this node's gateway, and takes it back when it ends.
    /// Wakes on a drill's start or stop as ``rules(_:limits:engine:interval:logger:)`` does;
    /// the polling also ends a drill whose time is up.
    static func drills(_ runner: DrillRunner, engine: HeraldEngine, interval: Duration, logger: Logger) -> Follower {
        Follower(
            what: "follow the fault drills", clock: engine.clock, interval: interval,
            wake: engine.announcements.signal(DrillService.topic), logger: logger
        ) { try await runner.step() }
    }
}
