import MallInventory

public struct StockReceipt: Decodable, Sendable { public var quantity: Int }

public struct StockBody: Encodable, Sendable {
    public var sku: String
    public var onHand: Int
    public var reserved: Int
    public var available: Int

    init(_ stock: Stock) {
        (sku, onHand, reserved, available) = (stock.sku, stock.onHand, stock.reserved, stock.available)
    }
}
