import Foundation
import Herald
import MallKernel

/// No product has this SKU.
public struct ProductNotFound: MallProblem, Hashable {
    public var sku: String
    public var kind: ProblemKind { .notFound }
    public var field: String? { "sku" }
    public var description: String { "no product with SKU \(sku)" }
}

/// A product with this SKU exists already.
public struct ProductAlreadyListed: MallProblem, Hashable {
    public var sku: String
    public var kind: ProblemKind { .conflict }
    public var field: String? { "sku" }
    public var description: String { "a product with SKU \(sku) is already listed" }
}

/// The Catalog's use cases.
public struct CatalogService: Sendable {
    public static let pageSize = 20
    /// The deepest page `page=` reaches: beyond, a page costs an offset over every product
    /// before it, so deeper pages are reached with the cursor (`after=`) instead.
    public static let maximumPage = 50

    let engine: HeraldEngine
    let currency: String

    public init(engine: HeraldEngine, currency: String) {
        self.engine = engine
        self.currency = currency
    }

    /// Lists a new product; it shows in the catalog at once.
    @discardableResult
    public func list(_ details: ProductDetails, price: Money) async throws -> ProductSummary {
        try await change(sku: details.sku) { existing in
            guard existing == nil else { throw ProductAlreadyListed(sku: details.sku) }
            return try Product.list(details, price: price, currency: currency)
        }
    }

    /// Updates a product's details and price.
    @discardableResult
    public func update(_ details: ProductDetails, price: Money) async throws -> ProductSummary {
        try await change(sku: details.sku) { existing in
            guard var product = existing else { throw ProductNotFound(sku: details.sku) }
            try product.change(details)
            try product.changePrice(to: price)
            return product
        }
    }

    @discardableResult
    public func delist(sku: String) async throws -> ProductSummary {
        try await change(sku: sku) { existing in
            guard var product = existing else { throw ProductNotFound(sku: sku) }
            product.delist()
            return product
        }
    }

    /// The product as stored now (read from its own document: a change shows at once,
    /// on or off sale).
    public func product(sku: String) async throws -> ProductSummary {
        guard CatalogRules.isValidSKU(sku), let product = try await engine.unitOfWork().load(Product.self, id: sku) else {
            throw ProductNotFound(sku: sku)
        }
        return ProductSummary(product)
    }

    /// One page (of ``pageSize``) of the products on sale that match `search`, and how
    /// many match in all: an indexed query of the catalog's listing, which follows product
    /// changes within moments (it is kept from their events).
    public func products(_ search: ProductSearch = ProductSearch()) async throws -> (items: [ProductSummary], total: Int) {
        guard search.page >= 1, search.page <= Self.maximumPage else {
            throw InvalidInput(field: "page", "must be within 1...\(Self.maximumPage); to go further, follow `next` with after=")
        }
        if let text = search.text, text.unicodeScalars.count > 200 { throw InvalidInput(field: "q", "at most 200 characters") }
        return try await CatalogListing.page(search, pageSize: Self.pageSize, engine: engine)
    }

    /// What the listing that ``products(_:)`` reads reflects now: read it before a page,
    /// and the page stays true for as long as it is the same (see `ProjectionVersion`).
    public func listingVersion() async throws -> ProjectionVersion {
        try await engine.version(of: CatalogListing.reader)
    }

    /// Saves the product: one small commit whatever the catalog's size, run again when
    /// another change to the same product got in first.
    private func change(sku: String, _ body: @escaping (Product?) throws -> Product) async throws -> ProductSummary {
        guard CatalogRules.isValidSKU(sku) else { throw InvalidInput(field: "sku", "1 to 64 letters, digits, '-' or '_'") }
        return try await engine.perform { work in
            var product = try body(try await work.load(Product.self, id: sku))
            let summary = ProductSummary(product)
            try work.save(&product)
            return summary
        }
    }
}
