import HTTPTypes
import Hummingbird
import MallApplication
import MallOperations
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
            let page = try request.page(maximum: ListingQuery.maximumPage, deeper: "follow `next` with after=")
            let parameters = request.uri.queryParameters
            var query = try ListingQuery(
                category: parameters.get("category"), text: parameters.get("q"), sort: parameters.get("sort"), page: page,
                pageGiven: parameters.get("page") != nil, after: parameters.get("after"))
            // The search-degraded switch: the plain listing instead of the text search, marked.
            let degraded = query.searchesText && limits.rules.searchDegraded
            if degraded { query = query.withoutText() }
            guard let listingCache else { return Self.listing(try await render(query), degraded: degraded) }
            let body = try await mall.listingPage(.init(query: query, degraded: degraded), in: listingCache) { try await render(query) }
            return Self.listing(body, degraded: degraded)
        }
        routes.add(middleware: MemberAuthentication(mall: mall, required: false))
        routes.add(middleware: PromotionsOffMarker(rules: mall.rulesInForce))
        routes.get("/products/{sku}") { _, context in
            try JSON.response(try await mall.product(sku: try context.sku(), memberID: context.optionalMemberID))
        }
        return routes
    }

    /// One page of the listing, as the response body.
    private func render(_ query: ListingQuery) async throws -> ByteBuffer {
        ByteBuffer(bytes: try JSON.encoder.encode(try await mall.listing(query)))
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
            return try JSON.response(try await mall.listProduct(body.details(sku: sku), price: body.price.money), status: .created)
        }
        routes.put("/products/{sku}") { request, context in
            let body = try await context.decode(ProductRequest.self, from: request)
            let sku = try context.sku()
            if let given = body.sku, !MallServer.isSKU(given) {
                throw InvalidInput(field: "sku", "1 to 64 letters, digits, '-' or '_' (the path's SKU is the one updated)")
            }
            return try JSON.response(try await mall.updateProduct(body.details(sku: sku), price: body.price.money))
        }
        routes.delete("/products/{sku}") { _, context in
            try JSON.response(try await mall.delistProduct(sku: try context.sku()))
        }
        return routes
    }
}

/// Rendered `GET /products` pages (``ListingPages``), kept as the bytes sent.
typealias ListingCache = ListingPages<ByteBuffer>
