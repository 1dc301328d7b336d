import Herald
import MallKernel

/// A product as the catalog shows it.
public struct ProductSummary: Codable, Hashable, Sendable {
    public var sku: String
    public var title: String
    public var category: String
    public var description: String
    public var listPrice: Money
    public var weightGrams: Int
    public var onSale: Bool

    init(sku: String, title: String, category: String, description: String, listPrice: Money, weightGrams: Int, onSale: Bool) {
        self.sku = sku
        self.title = title
        self.category = category
        self.description = description
        self.listPrice = listPrice
        self.weightGrams = weightGrams
        self.onSale = onSale
    }

    init(_ product: Product) {
        self.init(
            sku: product.sku, title: product.title, category: product.category, description: product.description,
            listPrice: product.listPrice, weightGrams: product.weightGrams, onSale: product.onSale)
    }
}
