import Herald
import MallKernel

// The Catalog context's published events: other contexts keep their own copies of what
// they need from these (Pricing its price list, Inventory nothing, Cart nothing), and the
// Catalog's own read side (its listing and search) is built from them.

/// A product was put on sale.
public struct ProductListed: DomainEvent {
    public static let eventType = "ProductListed"
    public var sku: String
    public var title: String
    public var category: String
    public var listPrice: Money
    public var weightGrams: Int
    /// `nil` in events recorded before descriptions were published.
    public var description: String?

    public init(sku: String, title: String, category: String, listPrice: Money, weightGrams: Int, description: String) {
        self.sku = sku
        self.title = title
        self.category = category
        self.listPrice = listPrice
        self.weightGrams = weightGrams
        self.description = description
    }
}

/// A product's title, category, description or weight changed (not its price).
public struct ProductDetailsChanged: DomainEvent {
    public static let eventType = "ProductDetailsChanged"
    public var sku: String
    public var title: String
    public var category: String
    public var weightGrams: Int
    /// `nil` in events recorded before descriptions were published (the description did not change).
    public var description: String?

    public init(sku: String, title: String, category: String, weightGrams: Int, description: String) {
        self.sku = sku
        self.title = title
        self.category = category
        self.weightGrams = weightGrams
        self.description = description
    }
}

/// A product's list price changed.
public struct ProductPriceChanged: DomainEvent {
    public static let eventType = "ProductPriceChanged"
    public var sku: String
    public var oldPrice: Money
    public var newPrice: Money

    public init(sku: String, oldPrice: Money, newPrice: Money) {
        self.sku = sku
        self.oldPrice = oldPrice
        self.newPrice = newPrice
    }
}

/// A product was taken off sale; it can no longer be ordered.
public struct ProductDelisted: DomainEvent {
    public static let eventType = "ProductDelisted"
    public var sku: String

    public init(sku: String) { self.sku = sku }
}

/// The Catalog context's published language: the events other contexts may hear, registered under
/// their stable names by the application.
public enum CatalogEvents {
    public static let published: [any DomainEvent.Type] = [
        ProductListed.self, ProductDetailsChanged.self, ProductPriceChanged.self, ProductDelisted.self,
    ]
}
