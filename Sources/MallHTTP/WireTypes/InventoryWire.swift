import MallInventory

struct StockReceipt: Decodable { var quantity: Int }

struct StockBody: Encodable {
    var sku: String
    var onHand: Int
    var reserved: Int
    var available: Int

    init(_ stock: Stock) {
        (sku, onHand, reserved, available) = (stock.sku, stock.onHand, stock.reserved, stock.available)
    }
}
