import Hummingbird
import MallApp

/// Payment: a member starts paying an order; the gateway reports back (its signature is
/// its authentication).
struct PaymentRoutes {
    let mall: Mall

    func routes() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.post("/payment-gateway/callbacks") { request, context in
            let body = try await context.decode(GatewayCallback.self, from: request)
            let payment = try await mall.payments.callback(try body.report(), signature: body.signature)
            return try JSON.response(CallbackResult(paymentId: payment.id, orderId: payment.orderID, status: payment.status.rawValue))
        }
        routes.add(middleware: MemberAuthentication(members: mall.members))
        routes.post("/orders/{id}/payments") { _, context in
            let (payment, created) = try await mall.startPayment(orderID: try context.parameter("id"), memberID: try context.memberID())
            // A repeat returns the payment already started (200), never a second one.
            return try JSON.response(PaymentStarted(paymentId: payment.id, amount: MoneyBody(payment.amount)), status: created ? .created : .ok)
        }
        return routes
    }
}
