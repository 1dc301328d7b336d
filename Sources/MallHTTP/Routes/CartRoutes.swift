import Hummingbird
import MallApp

/// The member's cart, always with a fresh quote.
struct CartRoutes {
    let mall: Mall

    func routes() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.add(middleware: MemberAuthentication(members: mall.members))
        routes.add(middleware: PromotionsOffMarker(rules: mall.rulesInForce))
        routes.get("/cart") { _, context in
            try JSON.response(CartBody(try await mall.cart(memberID: try context.memberID())))
        }
        routes.put("/cart/lines/{sku}") { request, context in
            let body = try await context.decode(QuantityRequest.self, from: request)
            return try JSON.response(CartBody(try await mall.setCartLine(memberID: try context.memberID(), sku: try context.sku(), quantity: body.quantity)))
        }
        routes.delete("/cart/lines/{sku}") { _, context in
            let memberID = try context.memberID()
            try await mall.carts.remove(memberID: memberID, sku: try context.sku())
            return try JSON.response(CartBody(try await mall.cart(memberID: memberID)))
        }
        return routes
    }
}
