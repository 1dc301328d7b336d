import HTTPTypes
import Hummingbird
import MallApplication
import MallOperations

/// Orders: placing, reading, cancelling and completing them for their member; shipping
/// and reading any of them for the admin.
struct OrderRoutes {
    let mall: Mall
    let limits: IngressLimits

    func routes() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.add(middleware: MemberAuthentication(mall: mall))
        routes.group().add(middleware: OrderIngressMiddleware(limits: limits)).post("/orders") { request, context in
            let body = try await context.decode(PlaceOrderRequest.self, from: request)
            let idempotency = request.headers[HTTPField.Name("Idempotency-Key")!].map { IdempotentRequest(key: $0, request: body) }
            let (order, created, waitsForCoupon) = try await mall.placeOrder(memberID: try context.memberID(), body.command, idempotency: idempotency)
            // A retry under the same key gets the first response again (the order as it was
            // created, status 201), marked as a replay.
            var response = try JSON.response(order, status: .created)
            if !created { response.headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
            // Its coupon waits (the coupons-deferred switch): so does the order, as submitted.
            if waitsForCoupon, context.rules?.couponsDeferred == true { response.headers.append(HTTPField(name: .mallDegraded, value: "coupons")) }
            return response
        }
        routes.get("/orders") { request, context in
            try JSON.response(try await mall.orders(memberID: try context.memberID(), page: try request.page()))
        }
        routes.get("/orders/{id}") { _, context in
            try JSON.response(try await mall.order(id: try context.parameter("id"), memberID: try context.memberID()))
        }
        routes.post("/orders/{id}/cancel") { _, context in
            try JSON.response(try await mall.cancelOrder(id: try context.parameter("id"), memberID: try context.memberID()))
        }
        routes.post("/orders/{id}/complete") { _, context in
            try JSON.response(try await mall.completeOrder(id: try context.parameter("id"), memberID: try context.memberID()))
        }
        return routes
    }

    func admin() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.post("/orders/{id}/ship") { _, context in
            try JSON.response(try await mall.shipOrder(id: try context.parameter("id")))
        }
        routes.get("/orders/{id}") { _, context in
            try JSON.response(try await mall.order(id: try context.parameter("id"), memberID: nil))
        }
        routes.get("/orders/{id}/timeline") { _, context in
            let id = try context.parameter("id")
            guard let timeline = try await mall.timeline(orderID: id) else { throw NoTimeline(orderID: id) }
            return try JSON.response(OrderTimelineBody(timeline))
        }
        return routes
    }
}
