import MallCatalog
import MallInventory

/// Stock: what is on hand, reserved and available.
extension Mall {
    /// A SKU's stock now.
    public func stock(sku: String) async throws -> StockBody { StockBody(try await inventory.stock(sku: sku)) }

    /// Adds units to a SKU's stock on hand: only for a product the catalog lists.
    ///
    /// - Throws: `ProductNotFound` for a SKU the catalog does not know.
    @discardableResult
    public func receiveStock(sku: String, quantity: Int) async throws -> StockBody {
        _ = try await catalog.product(sku: sku)
        return StockBody(try await inventory.receive(sku: sku, quantity: quantity))
    }
}
