import Logging
import ServiceLifecycle
import Foundation
import HTTPTypes
import Hummingbird
import MallApplication
import MallOperations
import MallKernel
import NIOCore
import Synchronization

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

/// One of what each node follows (``Mall/followRules(into:every:logger:)``,
/// ``Mall/followDrills(_:every:logger:)``), as a service of the server's group.
struct Follower: Service {
    let follow: @Sendable () async -> Void

    func run() async { await follow() }
}
