import Herald
import MallCatalog
import MallKernel

/// The catalog: listing, editing and browsing products.
extension Mall {
    /// Lists a new product at `price`.
    @discardableResult
    public func listProduct(_ details: ProductDetails, price: Money) async throws -> ProductBody {
        ProductBody(try await catalog.list(details, price: price))
    }

    /// Changes a listed product's details and price.
    @discardableResult
    public func updateProduct(_ details: ProductDetails, price: Money) async throws -> ProductBody {
        ProductBody(try await catalog.update(details, price: price))
    }

    /// Takes a product off sale.
    @discardableResult
    public func delistProduct(sku: String) async throws -> ProductBody { ProductBody(try await catalog.delist(sku: sku)) }

    /// The listing's version: changes whenever a listed product does (what a cache of
    /// rendered pages keys on).
    public func listingVersion() async throws -> ListingVersion { ListingVersion(try await catalog.listingVersion()) }

    /// The page `key` asks for: the one `pages` keeps when it was rendered from the listing
    /// as it is now, or else the one `render` makes from the listing, which `pages` keeps.
    /// The version is read before `render` reads the rows, so a kept page is never older
    /// than the listing a request would have queried.
    public func listingPage<Body>(_ key: ListingPages<Body>.Key, in pages: ListingPages<Body>, render: () async throws -> Body) async throws -> Body {
        let version = try await listingVersion()
        if let kept = pages.page(key, at: version) { return kept.body }
        let body = try await render()
        pages.store(key, .init(version: version, body: body))
        return body
    }
}

/// One page of the catalog's listing as a shopper asks for it (`GET /products`): a
/// category, words to search, a sort order, and a page number or the cursor of the page
/// before. Two spellings of one search ("Tea  POT", "tea pot") are one listing.
public struct ListingQuery: Hashable, Sendable {
    /// How deep offset paging goes; further, a shopper follows the cursor.
    public static let maximumPage = CatalogService.maximumPage

    var search: ProductSearch

    /// - Parameter sort: one of ``ProductSearch/Sort``; by default `relevance` with `text`,
    ///   `title` without.
    /// - Parameter pageGiven: whether the request named a page (a cursor and a page number
    ///   together are refused).
    /// - Throws: `InvalidInput` naming `sort` or `q`, or `RuleViolation` naming `sort`,
    ///   `page` or `after` (any text is a well-formed cursor; this one is not a page of
    ///   this listing).
    public init(category: String?, text: String?, sort: String?, page: Int, pageGiven: Bool, after: String?) throws {
        if let text, text.unicodeScalars.count > 200 { throw InvalidInput(field: "q", "at most 200 characters") }
        let words = ProductSearch.normalised(text: text)
        let order = try sort.map { value in
            guard let sort = ProductSearch.Sort(rawValue: value) else {
                throw InvalidInput(field: "sort", "one of \(ProductSearch.Sort.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return sort
        } ?? (words == nil ? .title : .relevance)
        if order == .relevance, words == nil { throw RuleViolation(field: "sort", "relevance ranks the products a search (q) finds: give q") }
        let cursor = try after.map { token in
            guard order != .relevance else { throw RuleViolation(field: "after", "a search in relevance order pages by number (page=)") }
            guard !pageGiven else { throw RuleViolation(field: "page", "give page or after, not both") }
            guard let cursor = ListingCursor(token: token, sort: order) else {
                throw RuleViolation(field: "after", "not the next of a page of this listing (in this sort order)")
            }
            return cursor
        }
        // The words, not what was typed: "Tea  POT" and "tea pot" are one page.
        search = ProductSearch(category: category.flatMap { $0.isEmpty ? nil : $0 }, text: words, sort: order, page: page, after: cursor)
    }

    /// Whether it searches words (what the search-degraded switch turns off).
    public var searchesText: Bool { search.text != nil }

    /// The same listing without its words: the plain listing (of its category).
    public func withoutText() -> ListingQuery {
        var plain = self
        plain.search.text = nil
        if plain.search.sort == .relevance { plain.search.sort = .title }
        return plain
    }
}

extension Mall {
    /// One page of the listing, with the cursor of the next when this one is full.
    public func listing(_ query: ListingQuery) async throws -> ProductPage {
        let (items, total) = try await catalog.products(query.search)
        let sort = query.search.sort
        let next = items.count == CatalogService.pageSize && sort != .relevance ? items.last.map { ListingCursor(after: $0, sort: sort).token } : nil
        return ProductPage(items: items.map(ProductBody.init), page: query.search.page, pageSize: CatalogService.pageSize, total: total, next: next)
    }
}
