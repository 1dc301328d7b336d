import Hummingbird
import MallApplication

/// Inventory, for the admin: goods received, and where a SKU's stock stands.
struct InventoryRoutes {
    let mall: Mall

    func admin() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.post("/stock/{sku}/receipts") { request, context in
            let sku = try context.sku()
            let body = try await context.decode(StockReceipt.self, from: request)
            return try JSON.response(try await mall.receiveStock(sku: sku, quantity: body.quantity), status: .created)
        }
        routes.get("/stock/{sku}") { _, context in
            try JSON.response(try await mall.stock(sku: try context.sku()))
        }
        return routes
    }
}
