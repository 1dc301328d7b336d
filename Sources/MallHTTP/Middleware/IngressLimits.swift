import Herald
import Logging
import ServiceLifecycle
import Foundation
import HTTPTypes
import Hummingbird
import MallApplication
import MallOperations
import MallKernel
import NIOCore
import Resilience
import Synchronization

/// The limits every request meets on the way in, one set per server: log-ins per client
/// address and per account (``LoginGate``), registrations per address, orders per member,
/// and requests in flight. They start from the configuration and follow the governance
/// rules (`/admin/rules`) as they change: ``Follower/rules(_:limits:engine:interval:logger:)``
/// applies a new version within a second on every node.
final class IngressLimits: Sendable {
    /// Why a request was refused on the way in (and which rate limit refused it).
    enum Refusal: String, Sendable, CaseIterable {
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
        func limit(in rules: GovernanceRules) -> GovernanceRules.Limit? {
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
    let knownAddresses: KnownAddresses
    /// Told of each refusal (the server's metrics count them).
    let refused: @Sendable (Refusal) -> Void

    init(
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

    var version: Int64 { current.withLock { $0.version } }
    /// The rules in force on this node (the switches among them).
    var rules: GovernanceRules { current.withLock { $0.rules } }

    /// The rules in force and their limiters, read together: what one request is checked
    /// against, whatever changes while it runs.
    struct Snapshot {
        let rules: GovernanceRules
        fileprivate let limiters: [Refusal: RateLimiter]

        /// `refusal`'s limiter in these rules.
        func limiter(_ refusal: Refusal) -> RateLimiter? { limiters[refusal] }
    }

    /// The rules and limiters in force now (one read).
    func snapshot() -> Snapshot { current.withLock { Snapshot(rules: $0.rules, limiters: $0.limiters) } }
    var enabled: Bool { current.withLock { $0.rules.ingressLimits } }

    /// The limiter in force for `refusal` (every limit but ``Refusal/overloaded`` has one).
    func limiter(_ refusal: Refusal) -> RateLimiter {
        if refusal == .refusedCallbacks { return refusedCallbacks }
        guard let limiter = current.withLock({ $0.limiters[refusal] }) else { preconditionFailure("no rate limit for \(refusal)") }
        return limiter
    }

    /// Refused callbacks one address may send: a gateway's are signed and go through; a
    /// sender of forgeries is soon answered 429 without a signature being checked.
    static let refusedCallbackPolicy = RateLimitPolicy(rate: 1, burst: 100)
    private let refusedCallbacks: RateLimiter

    /// Puts `rules` in force if `version` is newer than the version in force. Versions only
    /// move forward: the follower's read from just before a change made through this node
    /// must not undo the change. A changed limit starts with full buckets; an unchanged one
    /// keeps its buckets, so a change of another rule gives no address a fresh burst.
    func apply(_ rules: GovernanceRules, version: Int64) throws {
        let clock = clock
        try current.withLock { current in
            guard version > current.version else { return }
            defer { rulesInForce?.apply(rules, version: version) }
            current = Current(version: version, rules: rules, limiters: try Self.limiters(rules, keeping: current, clock: clock))
        }
    }

    /// Which places in flight a request takes.
    enum Pool: Sendable {
        /// Every request but the gateway's callbacks: ``GovernanceRules/maxRequestsInFlight``.
        case shared
        /// The payment gateway's callbacks: ``IngressLimits/callbackPlaces``.
        case callbacks
    }

    /// Places for the payment gateway's callbacks, apart from everyone else's.
    static let callbackPlaces = 256

    /// Takes a place of `pool` for a request; `false` when all are taken (the request is shed).
    func enter(_ pool: Pool = .shared) -> Bool {
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

    func leave(_ pool: Pool = .shared) {
        switch pool {
        case .shared: inFlight.wrappingSubtract(1, ordering: .relaxed)
        case .callbacks: callbacksInFlight.wrappingSubtract(1, ordering: .relaxed)
        }
    }

    /// Takes a token of `key` from `refusal`'s limiter, or throws ``TooManyRequests`` (and
    /// counts the refusal).
    func acquire(_ refusal: Refusal, _ key: String, _ what: String) throws {
        try require(limiter(refusal).acquire(key), refusal, what)
    }

    /// Throws ``TooManyRequests`` when `decision` is a refusal, and counts it as `refusal`.
    /// The answer is held back for the wait, up to ``refusalHoldBack``.
    func require(_ decision: RateLimiter.Decision, _ refusal: Refusal, _ what: String) throws {
        guard case .limited(let retryAfter) = decision else { return }
        refused(refusal)
        throw TooManyRequests(what, retryAfter: retryAfter, holdBack: min(retryAfter, Self.refusalHoldBack))
    }

    /// The longest a refusal by a rate limit is held back (``TooManyRequests/holdBack``):
    /// 64 connections storming one account, refused as fast as two cores could answer, left
    /// the password hashing (idle priority) nothing, and other members' log-ins waited 28 s;
    /// held back, each connection gets a refusal a second (`mall-bench --login-storm`).
    static let refusalHoldBack: Duration = .seconds(1)
}

/// Sheds requests beyond ``MallConfiguration/maxRequestsInFlight`` at once with 503 and
/// `Retry-After`: under overload, some callers get a quick refusal instead of everyone
/// getting an ever slower answer. Health checks are never shed.
///
/// A request counts once its body has arrived, not from its head: a client trickling a body
/// holds a connection and a task (the body timeout and the connection cap bound those), but
/// never a place of the shared limit, so a few dozen slow clients a second cannot take all
/// of them. The gateway's callbacks have places of their own (``IngressLimits/callbackPlaces``):
/// shoppers cannot crowd out the callbacks that settle their payments, nor callbacks the shoppers.
struct LoadSheddingMiddleware: RouterMiddleware {
    typealias Context = MallRequestContext
    let limits: IngressLimits
    /// The largest body read before the request takes its place (larger: 413, as later).
    let bodyLimit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !request.uri.path.hasPrefix("/health/"), limits.enabled else { return try await next(request, context) }
        var request = request
        if request.method == .post || request.method == .put || request.method == .patch {
            _ = try await request.collectBody(upTo: bodyLimit)
        }
        let pool: IngressLimits.Pool = request.uri.path == PaymentRoutes.callbackPath ? .callbacks : .shared
        guard limits.enter(pool) else {
            limits.refused(.overloaded)
            return Problem(.serviceUnavailable, slug: "overloaded", detail: "the server is at its limit of requests in flight; retry shortly")
                .response(headers: [.retryAfter: "1"])
        }
        defer { limits.leave(pool) }
        return try await next(request, context)
    }
}

/// One token of `refusal`'s limiter per request, by the key `key` gives the request (its
/// client address, its member): registrations per address, orders per member.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = MallRequestContext
    let limits: IngressLimits
    /// Which limit (the limiter in force is looked up per request: rules change while the
    /// server runs), and what a refusal counts as.
    let refusal: IngressLimits.Refusal
    /// What is limited, for the problem's detail: "orders from this member".
    let what: String
    let key: @Sendable (Context) throws -> String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard limits.enabled else { return try await next(request, context) }
        try limits.acquire(refusal, try key(context), what)
        return try await next(request, context)
    }
}

/// The payment gateway's callbacks per client address: a token is taken before the
/// signature is checked and given back when the callback was taken, so only refused ones
/// (forged, stale, of another amount) count, however many arrive at once.
struct RefusedCallbackLimitMiddleware: RouterMiddleware {
    typealias Context = MallRequestContext
    let limits: IngressLimits

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard limits.enabled else { return try await next(request, context) }
        let key = context.clientKey
        try limits.acquire(.refusedCallbacks, key, "refused payment gateway callbacks from this address")
        do {
            let response = try await next(request, context)
            limits.limiter(.refusedCallbacks).giveBack(key)
            return response
        } catch let problem as any MallProblem where problem.kind == .unauthenticated {
            throw problem
        } catch {
            limits.limiter(.refusedCallbacks).giveBack(key)
            throw error
        }
    }
}

/// The governance checks of `POST /orders`, against one snapshot of the rules in force
/// (``IngressLimits/snapshot()``), which the route reads too (``MallRequestContext/rules``):
/// - the `newOrdersPaused` switch: new orders are refused with 503 and `Retry-After` while
///   it is on (everything after an order — payments, callbacks, cancellations, refunds — goes on);
/// - the orders-per-member rate limit (429);
/// - the `promotionsOff` switch: the response is marked `Mall-Degraded: promotions` (the
///   quote left the promotions out).
///
/// Behind ``MemberAuthentication``: the member is known.
struct OrderIngressMiddleware: RouterMiddleware {
    typealias Context = MallRequestContext
    let limits: IngressLimits

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let snapshot = limits.snapshot()
        guard !snapshot.rules.newOrdersPaused else { throw NewOrdersPaused() }
        if snapshot.rules.ingressLimits, let orders = snapshot.limiter(.orders) {
            try limits.require(orders.acquire(try context.memberID()), .orders, "orders from this member")
        }
        var context = context
        context.rules = snapshot.rules
        var response = try await next(request, context)
        if snapshot.rules.promotionsOff { response.headers.append(HTTPField(name: .mallDegraded, value: "promotions")) }
        return response
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
    static func rules(of mall: Mall, limits: IngressLimits, interval: Duration, logger: Logger) -> Follower {
        Follower(
            what: "read the governance rules", clock: mall.clock, interval: interval,
            wake: mall.announcements(of: GovernanceService.topic), logger: logger
        ) {
            let (version, rules) = try await mall.governance.current()
            if version > limits.version {
                try limits.apply(rules, version: version)
                logger.info("governance rules version \(version) in force")
            }
        }
    }

    /// Puts the running fault drill in force on this node's gateway, and takes it back when it ends.
    /// Wakes on a drill's start or stop as ``rules(of:limits:interval:logger:)`` does;
    /// the polling also ends a drill whose time is up.
    static func drills(_ runner: DrillRunner, of mall: Mall, interval: Duration, logger: Logger) -> Follower {
        Follower(
            what: "follow the fault drills", clock: mall.clock, interval: interval,
            wake: mall.announcements(of: DrillService.topic), logger: logger
        ) { try await runner.step() }
    }
}
