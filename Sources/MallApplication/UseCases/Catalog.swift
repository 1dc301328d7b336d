import Herald
import MallCatalog
import MallKernel

/// The catalog: listing, editing and browsing products.
extension Mall {
    /// Lists a new product at `price`.
    @discardableResult
    public func listProduct(_ details: ProductDetails, price: Money) async throws -> ProductSummary {
        try await catalog.list(details, price: price)
    }

    /// Changes a listed product's details and price.
    @discardableResult
    public func updateProduct(_ details: ProductDetails, price: Money) async throws -> ProductSummary {
        try await catalog.update(details, price: price)
    }

    /// Takes a product off sale.
    @discardableResult
    public func delistProduct(sku: String) async throws -> ProductSummary { try await catalog.delist(sku: sku) }

    /// One page of the listing (a query of the catalog's projection).
    public func products(_ search: ProductSearch) async throws -> (items: [ProductSummary], total: Int) {
        try await catalog.products(search)
    }

    /// The listing's version: changes whenever a listed product does (what a cache of
    /// rendered pages keys on).
    public func listingVersion() async throws -> ProjectionVersion { try await catalog.listingVersion() }
}
