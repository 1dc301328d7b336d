import Foundation
import Herald
import Synchronization
import MallCatalogEvents
import MallKernel

/// Pricing's read side: its own copy of the catalog's prices (from the Catalog's published
/// events, never from the Catalog's tables) and the promotions it runs, kept by a Herald
/// projection. A quote reads the rows of the products in its basket and the promotions
/// that could apply to them, never the whole shop.
public enum PriceBook {
    static let products = ProjectionTable(
        name: "products",
        columns: [
            .init("sku", .text), .init("title", .text), .init("category", .text), .init("price", .integer),
            .init("currency", .text), .init("weight_grams", .integer), .init("on_sale", .integer),
        ],
        primaryKey: ["sku"])

    /// Promotions in the order they were added (`sequence`, the log position of their
    /// event): the order multi-product promotions apply in.
    static let promotions = ProjectionTable(
        name: "promotions",
        columns: [
            .init("id", .text), .init("sequence", .integer),
            // The SKU a single-product promotion discounts; NULL for multi-product ones.
            .init("sku", .text, nullable: true),
            .init("multi_product", .integer),
            // When it ends, in seconds since 1970 (``openEnded`` when it does not).
            .init("ends_at", .real),
            .init("promotion", .text),
        ],
        primaryKey: ["id"],
        indexes: [["sku"], ["multi_product", "ends_at"], ["sequence"]])

    /// `ends_at` of a promotion without an end: 9999-12-31.
    static let openEnded: Double = 253_402_300_799

    /// The declaration queries go through (the service runs the same projection).
    static let reader = projection()

    public static func projection(retryPolicy: RetryPolicy = .default) -> Projection {
        Projection(
            name: "pricing", version: 1, tables: [products, promotions],
            eventTypes: [
                ProductListed.eventType, ProductDetailsChanged.eventType, ProductPriceChanged.eventType, ProductDelisted.eventType,
                PromotionAdded.eventType,
            ],
            retryPolicy: retryPolicy
        ) { delivery, rows in
            switch try delivery.event() {
            case let listed as ProductListed:
                try store(PricedProduct(
                    sku: listed.sku, title: listed.title, category: listed.category, listPrice: listed.listPrice,
                    weightGrams: listed.weightGrams), in: rows)
            case let changed as ProductDetailsChanged:
                guard var product = try await stored(changed.sku, in: rows) else { return }
                product.title = changed.title
                product.category = changed.category
                product.weightGrams = changed.weightGrams
                try store(product, in: rows)
            case let changed as ProductPriceChanged:
                guard var product = try await stored(changed.sku, in: rows) else { return }
                product.listPrice = changed.newPrice
                try store(product, in: rows)
            case let delisted as ProductDelisted:
                guard var product = try await stored(delisted.sku, in: rows) else { return }
                product.onSale = false
                try store(product, in: rows)
            case let added as PromotionAdded:
                let promotion = added.promotion
                var sku: ProjectionValue = .null
                if case .productDiscount(let discounted, _) = promotion.rule { sku = .text(discounted) }
                try rows.upsert(promotions.name, [
                    "id": .text(promotion.id), "sequence": .integer(delivery.envelope.position), "sku": sku,
                    "multi_product": .integer(promotion.isMultiProduct ? 1 : 0),
                    "ends_at": .real(promotion.window.until?.timeIntervalSince1970 ?? openEnded),
                    "promotion": .text(String(decoding: try JSONEncoder().encode(promotion), as: UTF8.self)),
                ])
            default:
                return
            }
        }
    }

    private static func stored(_ sku: String, in rows: ProjectionRows) async throws -> PricedProduct? {
        try await rows.row(products.name, key: .text(sku)).map(PricedProduct.init(row:))
    }

    private static func store(_ product: PricedProduct, in rows: ProjectionRows) throws {
        try rows.upsert(products.name, [
            "sku": .text(product.sku), "title": .text(product.title), "category": .text(product.category),
            "price": .integer(product.listPrice.minorUnits), "currency": .text(product.listPrice.currency),
            "weight_grams": .integer(Int64(product.weightGrams)), "on_sale": .integer(product.onSale ? 1 : 0),
        ])
    }

    /// What a quote of `skus` at `now` needs: those products, and the promotions that may
    /// apply to them (their own product discounts, and every multi-product promotion not
    /// yet ended), in the order they were added.
    static func basket(_ skus: Set<String>, at now: Date, engine: HeraldEngine) async throws -> (products: [String: PricedProduct], promotions: [Promotion]) {
        let keys = skus.sorted().map(ProjectionValue.text)
        let found = try await engine.rows(reader, ProjectionQuery(products.name).where(.oneOf("sku", keys)))
        let priced = try Dictionary(uniqueKeysWithValues: found.map { row in (try row.text("sku"), try PricedProduct(row: row)) })
        let single = try await engine.rows(reader, ProjectionQuery(promotions.name).where(.oneOf("sku", keys)))
        let multi = try await engine.rows(reader, ProjectionQuery(promotions.name)
            .where(.equals("multi_product", .integer(1))).where(.greaterThan("ends_at", .real(now.timeIntervalSince1970))))
        let ordered = try (single + multi).sorted { try $0.integer("sequence") < $1.integer("sequence") }
        return (priced, try ordered.map(promotion(of:)))
    }

    /// Every promotion, in the order they were added.
    static func allPromotions(engine: HeraldEngine) async throws -> [Promotion] {
        try await engine.rows(reader, ProjectionQuery(promotions.name).ordered(by: "sequence")).map(promotion(of:))
    }

    private static func promotion(of row: ProjectionRow) throws -> Promotion {
        let json = try row.text("promotion")
        if let known = decoded.withLock({ $0[json] }) { return known }
        let promotion = try JSONDecoder().decode(Promotion.self, from: Data(json.utf8))
        decoded.withLock { cache in
            if cache.count >= maximumDecoded { cache.removeAll(keepingCapacity: true) }
            cache[json] = promotion
        }
        return promotion
    }

    /// Promotions decoded before, by their stored JSON (a row's text is its whole value, so
    /// it is its own key): every quote reads the shop's multi-product promotions, and
    /// decoding them each time cost a sixth of a product page's CPU. Bounded: emptied
    /// when full.
    private static let decoded = Mutex<[String: Promotion]>([:])
    private static let maximumDecoded = 4096
}

extension PricedProduct {
    init(row: ProjectionRow) throws {
        self.init(
            sku: try row.text("sku"), title: try row.text("title"), category: try row.text("category"),
            listPrice: Money(minorUnits: try row.integer("price"), currency: try row.text("currency")),
            weightGrams: Int(try row.integer("weight_grams")), onSale: try row.integer("on_sale") != 0)
    }
}
