import HTTPTypes
import Hummingbird
import MallApplication
import MallCatalog
import MallKernel
import NIOCore

/// The Catalog: browsing and search for anyone (a member's token adds their price);
/// listing, editing and delisting products for the admin.
struct CatalogRoutes {
    let mall: Mall
    let limits: IngressLimits
    /// Rendered listing pages (`nil`: every request queries the listing).
    var listingCache: ListingCache? = nil

    func routes() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.get("/products") { request, _ in
            let page = try request.page(maximum: CatalogService.maximumPage, deeper: "follow `next` with after=")
            let category = request.uri.queryParameters.get("category").flatMap { $0.isEmpty ? nil : $0 }
            let sort = try request.uri.queryParameters.get("sort").map { value in
                guard let sort = ProductSearch.Sort(rawValue: value) else {
                    throw InvalidInput(field: "sort", "one of \(ProductSearch.Sort.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return sort
            } ?? .title
            let after = try request.uri.queryParameters.get("after").map { token in
                // 422, not 400: any text is a well-formed token; this one is not a page of this listing.
                guard request.uri.queryParameters.get("page") == nil else { throw RuleViolation(field: "page", "give page or after, not both") }
                guard let cursor = ListingCursor(token: token, sort: sort) else {
                    throw RuleViolation(field: "after", "not the next of a page of this listing (in this sort order)")
                }
                return cursor
            }
            let text = request.uri.queryParameters.get("q")
            if let text, text.unicodeScalars.count > 200 { throw InvalidInput(field: "q", "at most 200 characters") }
            // The words, not what was typed: "Tea  POT" and "tea pot" are one page, kept once.
            var search = ProductSearch(category: category, text: ProductSearch.normalised(text: text), sort: sort, page: page, after: after)
            // The search-degraded switch: the plain listing instead of the text search, marked.
            let degraded = search.text != nil && limits.rules.searchDegraded
            if degraded { search.text = nil }
            guard let listingCache else { return Self.listing(try await render(search), degraded: degraded) }
            let key = ListingCache.Key(search: search, degraded: degraded)
            let version = try await mall.listingVersion()
            if let kept = listingCache.page(key, at: version) { return Self.listing(kept.body, degraded: degraded) }
            let body = try await render(search)
            listingCache.store(key, .init(version: version, body: body))
            return Self.listing(body, degraded: degraded)
        }
        routes.add(middleware: MemberAuthentication(mall: mall, required: false))
        routes.add(middleware: PromotionsOffMarker(rules: mall.rulesInForce))
        routes.get("/products/{sku}") { _, context in
            try JSON.response(ProductViewBody(try await mall.product(sku: try context.sku(), memberID: context.optionalMemberID)))
        }
        return routes
    }

    /// One page of `search`, as the response body.
    private func render(_ search: ProductSearch) async throws -> ByteBuffer {
        let (items, total) = try await mall.products(search)
        // A full page may have a next one; its cursor is the last product's place.
        let next = items.count == CatalogService.pageSize ? items.last.map { ListingCursor(after: $0, sort: search.sort).token } : nil
        return ByteBuffer(bytes: try JSON.encoder.encode(
            ProductPage(items: items.map(ProductBody.init), page: search.page, pageSize: CatalogService.pageSize, total: total, next: next)))
    }

    private static func listing(_ body: ByteBuffer, degraded: Bool) -> Response {
        var response = JSON.response(body: body)
        if degraded { response.headers[.mallDegraded] = "search" }
        return response
    }

    func admin() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.post("/products") { request, context in
            let body = try await context.decode(ProductRequest.self, from: request)
            guard let sku = body.sku else { throw InvalidInput(field: "sku", "is required") }
            return try JSON.response(ProductBody(try await mall.listProduct(body.details(sku: sku), price: body.price.money)), status: .created)
        }
        routes.put("/products/{sku}") { request, context in
            let body = try await context.decode(ProductRequest.self, from: request)
            let sku = try context.sku()
            if let given = body.sku, !MallServer.isSKU(given) {
                throw InvalidInput(field: "sku", "1 to 64 letters, digits, '-' or '_' (the path's SKU is the one updated)")
            }
            return try JSON.response(ProductBody(try await mall.updateProduct(body.details(sku: sku), price: body.price.money)))
        }
        routes.delete("/products/{sku}") { _, context in
            try JSON.response(ProductBody(try await mall.delistProduct(sku: try context.sku())))
        }
        return routes
    }
}
