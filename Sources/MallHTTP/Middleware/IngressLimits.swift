import Herald
import Hummingbird
import MallApp
import MallKernel
import NIOCore
import Resilience
import Synchronization

/// The limits every request meets on the way in, one set per server (see
/// ``MallConfiguration``): failed log-ins and registrations per client address, orders per
/// member, and requests in flight.
final class IngressLimits: Sendable {
    let failedLogins: RateLimiter
    let registrations: RateLimiter
    let orders: RateLimiter
    let maxInFlight: Int
    /// `false` (`MALL_INGRESS_LIMITS=off`): every middleware below passes requests straight on.
    let enabled: Bool
    private let inFlight = Atomic<Int>(0)

    init(_ configuration: MallConfiguration, clock: any HeraldClock) throws {
        enabled = configuration.ingressLimits
        failedLogins = try RateLimiter(policy: configuration.failedLoginLimit, clock: clock)
        registrations = try RateLimiter(policy: configuration.registrationLimit, clock: clock)
        orders = try RateLimiter(policy: configuration.orderLimit, clock: clock)
        maxInFlight = configuration.maxRequestsInFlight
    }

    /// Takes a place for a request; `false` when all are taken (the request is shed).
    func enter() -> Bool {
        if inFlight.wrappingAdd(1, ordering: .relaxed).newValue <= maxInFlight { return true }
        inFlight.wrappingSubtract(1, ordering: .relaxed)
        return false
    }

    func leave() { inFlight.wrappingSubtract(1, ordering: .relaxed) }

    /// Throws ``TooManyRequests`` when `decision` is a refusal.
    static func require(_ decision: RateLimiter.Decision, _ what: String) throws {
        if case .limited(let retryAfter) = decision { throw TooManyRequests(what, retryAfter: retryAfter) }
    }
}

/// Sheds requests beyond ``MallConfiguration/maxRequestsInFlight`` at once with 503 and
/// `Retry-After`: under overload, some callers get a quick refusal instead of everyone
/// getting an ever slower answer. Health checks are never shed.
struct LoadSheddingMiddleware: RouterMiddleware {
    typealias Context = MallRequestContext
    let limits: IngressLimits

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard limits.enabled, !request.uri.path.hasPrefix("/health/") else { return try await next(request, context) }
        guard limits.enter() else {
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
    let limiter: RateLimiter
    /// What is limited, for the problem's detail: "orders from this member".
    let what: String
    let key: @Sendable (Context) throws -> String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard limits.enabled else { return try await next(request, context) }
        try IngressLimits.require(limiter.acquire(try key(context)), what)
        return try await next(request, context)
    }
}

/// Failed log-ins per client address: an address out of tokens is refused before its
/// password is hashed; a log-in that fails (401) takes a token, one that succeeds none.
struct FailedLoginLimitMiddleware: RouterMiddleware {
    typealias Context = MallRequestContext
    let limits: IngressLimits

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard limits.enabled else { return try await next(request, context) }
        let address = context.clientAddress
        try IngressLimits.require(limits.failedLogins.check(address), "failed log-ins from this address")
        do {
            return try await next(request, context)
        } catch let problem as any MallProblem where problem.kind == .unauthenticated {
            _ = limits.failedLogins.acquire(address)
            throw problem
        }
    }
}
