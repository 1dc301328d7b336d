import Herald
import MallEvents

/// The Catalog's list of every product, for browsing and search: one document, saved in
/// the same transaction as each product change, so the list is never behind the products.
///
/// One document suits a shop of thousands of products; a larger one would keep this list
/// in a search index fed by the same events.
public struct CatalogIndex: AggregateRoot {
    public static let streamType = "CatalogIndex"
    public static let mainID = "main"

    public let id: String
    public private(set) var entries: [String: ProductSummary] = [:]
    public var pendingEvents = PendingEvents()

    public init() { self.id = Self.mainID }

    mutating func update(from product: Product) {
        entries[product.sku] = ProductSummary(product)
    }
}

/// A product as the catalog shows it.
public struct ProductSummary: Codable, Hashable, Sendable {
    public var sku: String
    public var title: String
    public var category: String
    public var description: String
    public var listPrice: Money
    public var weightGrams: Int
    public var onSale: Bool

    init(_ product: Product) {
        sku = product.sku
        title = product.title
        category = product.category
        description = product.description
        listPrice = product.listPrice
        weightGrams = product.weightGrams
        onSale = product.onSale
    }
}
