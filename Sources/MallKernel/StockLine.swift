/// A quantity of one SKU: what a cart, an order, a reservation and a shipment hold.
public struct StockLine: Codable, Hashable, Sendable {
    /// The most units one line may ask for, in a cart, a quote or an order.
    public static let maximumQuantity = 999

    public var sku: String
    public var quantity: Int

    public init(sku: String, quantity: Int) {
        self.sku = sku
        self.quantity = quantity
    }
}
