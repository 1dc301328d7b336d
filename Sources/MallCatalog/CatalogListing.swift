import Foundation
import Herald
import MallCatalogEvents
import MallKernel

/// The Catalog's read side: the products on sale, for browsing and search, kept from the
/// Catalog's own events by a Herald projection.
///
/// Two tables, each shaped for the pages the shop shows:
/// - `products`, one row per SKU, indexed by sale status, category and each sort order, and
///   searched by the words of its title and description through the store's full-text
///   index (SQLite's FTS5, PostgreSQL's tsvector; Herald keeps it in the row's commit);
/// - `categories`, how many products are on sale in each category (and, under the empty
///   name, in all), so a page's total is one row, not a count of thousands.
///
/// A product change touches its own rows only, however large the catalog; a change of
/// price leaves the full-text index alone.
public enum CatalogListing {
    /// The words of a search used, at most.
    static let maximumQueryWords = 8

    /// The full-text search `text` asks for: its first ``maximumQueryWords`` words; `nil`
    /// when it has none (the whole listing).
    static func search(_ text: String) -> FullTextSearch? {
        let terms = FullTextSearch(text).terms.prefix(maximumQueryWords)
        return terms.isEmpty ? nil : FullTextSearch(terms: Array(terms))
    }

    static let products = ProjectionTable(
        name: "products",
        columns: [
            .init("sku", .text), .init("title", .text), .init("category", .text), .init("description", .text),
            .init("price", .integer), .init("currency", .text), .init("weight_grams", .integer), .init("on_sale", .integer),
        ],
        primaryKey: ["sku"],
        indexes: [
            ["on_sale", "title", "sku"], ["on_sale", "category", "title", "sku"],
            ["on_sale", "price", "sku"], ["on_sale", "category", "price", "sku"],
        ],
        fullText: ["title", "description"])

    static let categories = ProjectionTable(
        name: "categories", columns: [.init("category", .text), .init("products", .integer)], primaryKey: ["category"])
    /// The `categories` row counting every product on sale (no category is empty).
    static let everyCategory = ""

    /// The declaration queries go through (the service runs the same projection).
    static let reader = projection()

    /// The projection; its service keeps it current, `mall projections rebuild catalog` rebuilds it.
    public static func projection(retryPolicy: RetryPolicy = .default) -> Projection {
        Projection(
            name: "catalog", version: 4, tables: [products, categories],
            eventTypes: [ProductListed.eventType, ProductDetailsChanged.eventType, ProductPriceChanged.eventType, ProductDelisted.eventType],
            retryPolicy: retryPolicy
        ) { delivery, rows in
            switch try delivery.event() {
            case let listed as ProductListed:
                let product = ProductSummary(
                    sku: listed.sku, title: listed.title, category: listed.category, description: listed.description ?? "",
                    listPrice: listed.listPrice, weightGrams: listed.weightGrams, onSale: true)
                try await store(product, replacing: try await rows.row(products.name, key: .text(listed.sku)), in: rows)
            case let changed as ProductDetailsChanged:
                try await change(changed.sku, in: rows) { product in
                    product.title = changed.title
                    product.category = changed.category
                    product.weightGrams = changed.weightGrams
                    if let description = changed.description { product.description = description }
                }
            case let changed as ProductPriceChanged:
                try await change(changed.sku, in: rows) { $0.listPrice = changed.newPrice }
            case let delisted as ProductDelisted:
                try await change(delisted.sku, in: rows) { $0.onSale = false }
            default:
                return
            }
        }
    }

    /// Applies `edit` to the stored product and stores it (a product never listed has nothing to change).
    private static func change(_ sku: String, in rows: ProjectionRows, _ edit: (inout ProductSummary) -> Void) async throws {
        guard let stored = try await rows.row(products.name, key: .text(sku)) else { return }
        var product = try ProductSummary(row: stored)
        edit(&product)
        try await store(product, replacing: stored, in: rows)
    }

    /// Writes the product's row over `stored`, its row before; the category counts follow it.
    private static func store(_ product: ProductSummary, replacing stored: ProjectionRow?, in rows: ProjectionRows) async throws {
        let wasIn = try stored.flatMap { try $0.integer("on_sale") != 0 ? try $0.text("category") : nil }
        let isIn = product.onSale ? product.category : nil
        if wasIn != isIn {
            if let wasIn { try await count(-1, in: [wasIn, everyCategory], rows) }
            if let isIn { try await count(+1, in: [isIn, everyCategory], rows) }
        }
        try rows.upsert(products.name, [
            "sku": .text(product.sku), "title": .text(product.title), "category": .text(product.category),
            "description": .text(product.description), "price": .integer(product.listPrice.minorUnits),
            "currency": .text(product.listPrice.currency), "weight_grams": .integer(Int64(product.weightGrams)),
            "on_sale": .integer(product.onSale ? 1 : 0),
        ])
    }

    private static func count(_ change: Int64, in names: [String], _ rows: ProjectionRows) async throws {
        for name in names {
            let products = try await rows.row(categories.name, key: .text(name))?.integer("products") ?? 0
            try rows.upsert(categories.name, ["category": .text(name), "products": .integer(products + change)])
        }
    }

}

/// What a shopper asks the catalog for: one page of the products on sale.
public struct ProductSearch: Sendable, Hashable {
    /// The sort orders the listing offers.
    public enum Sort: String, Sendable, Hashable, CaseIterable {
        case title
        case price
        case priceDescending = "-price"
        /// The products whose title and description match the search's words best first
        /// (a word in the title counts more); only with ``ProductSearch/text``, paged by
        /// number (no cursor).
        case relevance
    }

    public var category: String?
    /// Words every product found has in its title or description (whole words, any case and
    /// accent; a word ending in `*` matches every word it begins).
    public var text: String?
    public var sort: Sort
    /// From 1; with ``after``, 1.
    public var page: Int
    /// The page after the product this cursor was taken from (keyset paging); `nil`: by ``page``.
    public var after: ListingCursor?

    public init(category: String? = nil, text: String? = nil, sort: Sort = .title, page: Int = 1, after: ListingCursor? = nil) {
        self.category = category
        self.text = text
        self.sort = sort
        self.page = page
        self.after = after
    }

    /// `text` as the search reads it: its words (lower-cased, accents folded, a prefix
    /// marked `*`), at most the eight that count, one space apart; `nil` when it has none.
    /// Two requests whose words are the same get the same page, so a cache keys on this,
    /// not on what was typed.
    public static func normalised(text: String?) -> String? {
        text.flatMap(CatalogListing.search(_:))?.description
    }
}

/// Where a page of the listing ends: the last product's sort value and SKU, so the next
/// page starts right after it (keyset paging: no page costs more than the first, however
/// deep). As text, an opaque token (``token``) for `?after=`.
public struct ListingCursor: Sendable, Hashable {
    public enum Value: Sendable, Hashable {
        case title(String)
        case price(Int64)
    }

    public var sort: ProductSearch.Sort
    public var value: Value
    public var sku: String

    /// The cursor after `product` in `sort`'s order.
    public init(after product: ProductSummary, sort: ProductSearch.Sort) {
        self.sort = sort
        value = sort == .title ? .title(product.title) : .price(product.listPrice.minorUnits)
        sku = product.sku
    }

    /// base64url of `"<sort>\n<value>\n<sku>"`.
    public var token: String {
        let value = switch value {
        case .title(let title): title
        case .price(let price): String(price)
        }
        return Data("\(sort.rawValue)\n\(value)\n\(sku)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Reads a ``token``; `nil` for anything that is not one (or is one of another `sort`).
    public init?(token: String, sort: ProductSearch.Sort) {
        guard token.utf8.count <= 600 else { return nil }
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == sort.rawValue, CatalogRules.isValidSKU(String(parts[2])) else { return nil }
        switch sort {
        case .title:
            value = .title(String(parts[1]))
        case .price, .priceDescending:
            guard let price = Int64(parts[1]) else { return nil }
            value = .price(price)
        case .relevance:
            return nil  // pages by number only
        }
        self.sort = sort
        sku = String(parts[2])
    }
}

extension ProductSummary {
    init(row: ProjectionRow) throws {
        self.init(
            sku: try row.text("sku"), title: try row.text("title"), category: try row.text("category"),
            description: try row.text("description"),
            listPrice: Money(minorUnits: try row.integer("price"), currency: try row.text("currency")),
            weightGrams: Int(try row.integer("weight_grams")), onSale: try row.integer("on_sale") != 0)
    }
}

extension CatalogListing {
    /// One page of `search`, and how many products match in all.
    static func page(_ search: ProductSearch, pageSize: Int, engine: HeraldEngine) async throws -> (items: [ProductSummary], total: Int) {
        let projection = reader
        let words = search.text.flatMap(Self.search(_:))
        var query = ProjectionQuery(products.name).where(.equals("on_sale", .integer(1)))
        if let category = search.category { query = query.where(.equals("category", .text(category.lowercased()))) }
        if let words { query = query.where(.matches(words)) }
        query = switch search.sort {
        case .relevance where words != nil: query.orderedByRelevance().ordered(by: "title").ordered(by: "sku")
        case .title, .relevance: query.ordered(by: "title").ordered(by: "sku")
        case .price: query.ordered(by: "price").ordered(by: "sku")
        case .priceDescending: query.ordered(by: "price", ascending: false).ordered(by: "sku", ascending: false)
        }
        var page = query
        if let cursor = search.after {
            let value: ProjectionValue = switch cursor.value {
            case .title(let title): .text(title)
            case .price(let price): .integer(price)
            }
            let column = search.sort == .title ? "title" : "price"
            page = page.where(.after([column, "sku"], [value, .text(cursor.sku)], descending: search.sort == .priceDescending))
        }
        let total: Int
        if words == nil {
            let counted = try await engine.rows(projection, ProjectionQuery(categories.name)
                .where(.equals("category", .text(search.category?.lowercased() ?? everyCategory))))
            total = Int(try counted.first?.integer("products") ?? 0)
        } else {
            total = try await engine.count(projection, query)
        }
        let found = try await engine.rows(projection, page.page(size: pageSize, offset: search.after == nil ? (search.page - 1) * pageSize : 0))
        return (try found.map(ProductSummary.init(row:)), total)
    }
}
