import Foundation
import Herald
import MallCatalogEvents
import MallKernel

/// A product for sale: the Catalog's aggregate, one per SKU.
public struct Product: AggregateRoot, Hashable {
    public static let streamType = "Product"

    public let id: String
    public private(set) var title: String
    public private(set) var category: String
    public private(set) var description: String
    public private(set) var listPrice: Money
    public private(set) var weightGrams: Int
    public private(set) var onSale: Bool
    public var pendingEvents = PendingEvents()

    public var sku: String { id }

    /// Lists a new product.
    ///
    /// - Throws: ``InvalidInput`` naming the field out of range.
    public static func list(_ details: ProductDetails, price: Money, currency: String) throws -> Product {
        let details = try details.validated()
        try CatalogRules.validate(price: price, currency: currency)
        var product = Product(
            id: details.sku, title: details.title, category: details.category, description: details.description,
            listPrice: price, weightGrams: details.weightGrams, onSale: true)
        product.record(ProductListed(
            sku: details.sku, title: details.title, category: details.category, listPrice: price, weightGrams: details.weightGrams,
            description: details.description))
        return product
    }

    /// Changes title, category, description or weight; records an event only when one changed.
    public mutating func change(_ details: ProductDetails) throws {
        let details = try details.validated()
        guard details.title != title || details.category != category || details.description != description || details.weightGrams != weightGrams else { return }
        (title, category, description, weightGrams) = (details.title, details.category, details.description, details.weightGrams)
        record(ProductDetailsChanged(sku: id, title: title, category: category, weightGrams: weightGrams, description: description))
    }

    public mutating func changePrice(to price: Money) throws {
        try CatalogRules.validate(price: price, currency: listPrice.currency)
        guard price != listPrice else { return }
        record(ProductPriceChanged(sku: id, oldPrice: listPrice, newPrice: price))
        listPrice = price
    }

    /// Takes the product off sale. Delisting twice is harmless.
    public mutating func delist() {
        guard onSale else { return }
        onSale = false
        record(ProductDelisted(sku: id))
    }
}

/// The editable facts of a product.
public struct ProductDetails: Codable, Hashable, Sendable {
    public var sku: String
    public var title: String
    public var category: String
    public var description: String
    public var weightGrams: Int

    public init(sku: String, title: String, category: String, description: String = "", weightGrams: Int) {
        self.sku = sku
        self.title = title
        self.category = category
        self.description = description
        self.weightGrams = weightGrams
    }

    func validated() throws -> ProductDetails {
        guard CatalogRules.isValidSKU(sku) else {
            throw InvalidInput(field: "sku", "1 to 64 letters, digits, '-' or '_'")
        }
        guard (0...100_000).contains(weightGrams) else { throw InvalidInput(field: "weightGrams", "must be within 0...100000") }
        return ProductDetails(
            sku: sku,
            title: try title.validated(field: "title", maxLength: 200),
            category: try category.validated(field: "category", maxLength: 64).lowercased(),
            description: try description.validated(field: "description", maxLength: 2000, allowEmpty: true, multiline: true),
            weightGrams: weightGrams)
    }
}

public enum CatalogRules {
    /// The highest list price accepted, in minor units (one million in the currency).
    public static let maximumPrice: Int64 = 100_000_000

    public static func isValidSKU(_ sku: String) -> Bool {
        !sku.isEmpty && sku.count <= 64 && sku.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }

    static func validate(price: Money, currency: String) throws {
        guard price.currency == currency else { throw InvalidInput(field: "price.currency", "the shop sells in \(currency)") }
        guard (1...maximumPrice).contains(price.minorUnits) else {
            throw InvalidInput(field: "price.minorUnits", "must be within 1...\(maximumPrice)")
        }
    }
}
