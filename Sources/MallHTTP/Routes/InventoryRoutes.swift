import Hummingbird
import MallApp

/// Inventory, for the admin: goods received, and where a SKU's stock stands.
struct InventoryRoutes {
    let mall: Mall

    func admin() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.post("/stock/{sku}/receipts") { request, context in
            let sku = try context.sku()
            _ = try await mall.catalog.product(sku: sku)  // stock only for products we sell
            let body = try await context.decode(StockReceipt.self, from: request)
            return try JSON.response(StockBody(try await mall.inventory.receive(sku: sku, quantity: body.quantity)), status: .created)
        }
        routes.get("/stock/{sku}") { _, context in
            try JSON.response(StockBody(try await mall.inventory.stock(sku: try context.sku())))
        }
        return routes
    }
}
