/// A quantity of one SKU: what a cart, an order, a reservation and a shipment hold.
public struct StockLine: Codable, Hashable, Sendable {
    public var sku: String
    public var quantity: Int

    public init(sku: String, quantity: Int) {
        self.sku = sku
        self.quantity = quantity
    }
}
