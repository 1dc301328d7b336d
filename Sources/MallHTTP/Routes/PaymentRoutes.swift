import Hummingbird
import MallApplication
import MallKernel
import MallOperations

/// Payment: a member starts paying an order; the gateway reports back (its signature is
/// its authentication).
struct PaymentRoutes {
    let mall: Mall
    let limits: IngressLimits
    let metrics: ServerMetrics?

    /// Where the gateway posts its callbacks (with places in flight of their own).
    static let callbackPath = "/payment-gateway/callbacks"

    func routes() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.group().add(middleware: RefusedCallbackLimitMiddleware(limits: limits)).post(RouterPath(Self.callbackPath)) { request, context in
            let body = try await context.decode(GatewayCallback.self, from: request)
            try body.requireKnownOutcome()  // an outcome there is not: 400, not a refused callback
            let settled: CallbackResult
            do {
                settled = try await mall.paymentCallback(body)
            } catch let problem as any MallProblem {
                metrics?.callback(.refused)
                throw problem
            }
            metrics?.callback(settled.duplicate ? .duplicate : .applied)
            return try JSON.response(settled)
        }
        routes.add(middleware: MemberAuthentication(mall: mall))
        routes.post("/orders/{id}/payments") { _, context in
            let orderID = try context.parameter("id")
            let started: StartedPayment
            do {
                started = try await mall.startPayment(orderID: orderID, memberID: try context.memberID())
            } catch let unavailable as any MallProblem where unavailable.kind == .dependencyUnavailable {
                metrics?.paymentStart(.unavailable)
                throw unavailable
            }
            metrics?.paymentStart(started.inDoubt == nil ? .started : .inDoubt)
            if let doubt = started.inDoubt {
                // Sent, unanswered: the money may have been taken. Never "not charged": 202,
                // the payment pending, and where its outcome will show. A retry returns this
                // same payment and asks the gateway again under its id (never a second charge).
                var response = try JSON.response(started.body, status: .accepted)
                response.headers[.location] = "/orders/\(orderID)"
                response.headers[.retryAfter] = String(doubt.retryAfterSeconds)
                return response
            }
            // A repeat returns the payment already started (200), never a second one.
            return try JSON.response(started.body, status: started.created ? .created : .ok)
        }
        return routes
    }
}
