import Foundation
import Herald
import MallEvents

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

    public func product(sku: String) async throws -> ProductSummary {
        let index = try await engine.unitOfWork().load(CatalogIndex.self, id: CatalogIndex.mainID) ?? CatalogIndex()
        guard let entry = index.entries[sku] else { throw ProductNotFound(sku: sku) }
        return entry
    }

    /// Products on sale, by title, filtered by category and by a text in title or
    /// description, one page (from 1) of ``pageSize``.
    public func products(category: String? = nil, query: String? = nil, page: Int = 1) async throws -> (items: [ProductSummary], total: Int) {
        guard page >= 1, page <= 10_000 else { throw InvalidInput(field: "page", "must be within 1...10000") }
        let index = try await engine.unitOfWork().load(CatalogIndex.self, id: CatalogIndex.mainID) ?? CatalogIndex()
        let needle = query?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        let matching = index.entries.values
            .filter { $0.onSale }
            .filter { category == nil || $0.category == category!.lowercased() }
            .filter { needle.isEmpty || $0.title.lowercased().contains(needle) || $0.description.lowercased().contains(needle) }
            .sorted { ($0.title, $0.sku) < ($1.title, $1.sku) }
        let start = (page - 1) * Self.pageSize
        let items = start < matching.count ? Array(matching[start..<min(start + Self.pageSize, matching.count)]) : []
        return (items, matching.count)
    }

    /// Saves the product and the index in one transaction, running again when another
    /// change got in first (two admins editing at once).
    private func change(sku: String, _ body: @escaping (Product?) throws -> Product) async throws -> ProductSummary {
        guard CatalogRules.isValidSKU(sku) else { throw InvalidInput(field: "sku", "1 to 64 letters, digits, '-' or '_'") }
        return try await engine.perform { work in
            var product = try body(try await work.load(Product.self, id: sku))
            var index = try await work.load(CatalogIndex.self, id: CatalogIndex.mainID) ?? CatalogIndex()
            index.update(from: product)
            let summary = ProductSummary(product)
            try work.save(&product)
            try work.save(&index)
            return summary
        }
    }
}
