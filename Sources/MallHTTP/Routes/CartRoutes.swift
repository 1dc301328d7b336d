import Hummingbird
import MallApplication

/// The member's cart, always with a fresh quote.
struct CartRoutes {
    let mall: Mall

    func routes() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.add(middleware: MemberAuthentication(mall: mall))
        routes.add(middleware: PromotionsOffMarker(rules: mall.rulesInForce))
        routes.get("/cart") { _, context in
            try JSON.response(try await mall.cart(memberID: try context.memberID()))
        }
        routes.put("/cart/lines/{sku}") { request, context in
            let body = try await context.decode(QuantityRequest.self, from: request)
            return try JSON.response(try await mall.setCartLine(memberID: try context.memberID(), sku: try context.sku(), quantity: body.quantity))
        }
        routes.delete("/cart/lines/{sku}") { _, context in
            let memberID = try context.memberID()
            return try JSON.response(try await mall.removeCartLine(memberID: memberID, sku: try context.sku()))
        }
        return routes
    }
}
