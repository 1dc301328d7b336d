import Foundation
import Herald
import HeraldSQLite
@_spi(Operations) import MallApplication
import MallOperations
import MallCatalog
import MallKernel
import MallPricing
import Testing

/// The catalog's listing and search, and Pricing's price book, read through projections:
/// what a shopper finds follows product changes once the projections have caught up, and
/// a rebuild from the log finds the same.
@Suite struct CatalogListingTests {
    func skus(_ shop: TestMall, _ search: ProductSearch) async throws -> [String] {
        try await shop.mall.catalog.products(search).items.map(\.sku)
    }

    func usd(_ cents: Int64) -> Money { Money(minorUnits: cents, currency: "USD") }

    @Test func aSearchFindsProductsWithEveryWordInTitleOrDescriptionInAnyCaseOrAccent() async throws {
        let shop = try await TestMall()
        try await shop.mall.catalog.list(
            ProductDetails(sku: "cafe-cup", title: "Café cup", category: "kitchen", description: "Porcelain, holds a double espresso", weightGrams: 200),
            price: usd(900))
        try await shop.settle()
        #expect(try await skus(shop, ProductSearch(text: "TEAPOT")) == ["teapot"])
        #expect(try await skus(shop, ProductSearch(text: "cafe")) == ["cafe-cup"], "accents folded")
        #expect(try await skus(shop, ProductSearch(text: "double espresso")) == ["cafe-cup"], "words of the description")
        #expect(try await skus(shop, ProductSearch(text: "espresso teapot")) == [], "every word must be there")
        #expect(try await skus(shop, ProductSearch(text: "tea")).sorted() == ["tea-jasmine", "tea-oolong"], "whole words: not teapot")
        #expect(try await skus(shop, ProductSearch(category: "drinks", text: "100")) == ["tea-jasmine", "tea-oolong"])
        #expect(try await skus(shop, ProductSearch(text: "  ;; ")).count == 20, "no words: the whole listing")
        #expect(try await skus(shop, ProductSearch(text: "CAFÉ")) == ["cafe-cup"], "accents folded in the search too")
        #expect(try await skus(shop, ProductSearch(text: "tea*")).sorted() == ["tea-jasmine", "tea-oolong", "teapot"], "a prefix: teapot too")
        #expect(try await skus(shop, ProductSearch(text: "espr*")) == ["cafe-cup"], "a prefix of a word of the description")

        // Relevance: both trays have both words; the one with them in its title ranks first
        // (in title order it would come second).
        try await shop.mall.catalog.list(ProductDetails(sku: "tray-tea", title: "Tea tray", category: "kitchen", description: "Oak", weightGrams: 300), price: usd(2000))
        try await shop.mall.catalog.list(
            ProductDetails(sku: "tray-oak", title: "Oak tray", category: "kitchen", description: "Carries a pot of tea", weightGrams: 300), price: usd(2000))
        try await shop.settle()
        #expect(try await skus(shop, ProductSearch(text: "tray tea", sort: .title)) == ["tray-oak", "tray-tea"])
        #expect(try await skus(shop, ProductSearch(text: "tray tea", sort: .relevance)) == ["tray-tea", "tray-oak"], "title words count more")
    }

    @Test func theListingIsFilteredSortedAndPagedAndCountsEveryMatch() async throws {
        let shop = try await TestMall()
        let kitchen = try await shop.mall.catalog.products(ProductSearch(category: "Kitchen"))
        #expect(kitchen.total == 5)
        #expect(kitchen.items.map(\.title) == kitchen.items.map(\.title).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, "by title")
        let cheapest = try await shop.mall.catalog.products(ProductSearch(sort: .price)).items.map(\.listPrice.minorUnits)
        #expect(cheapest == cheapest.sorted() && cheapest.first == 700)
        let dearest = try await shop.mall.catalog.products(ProductSearch(sort: .priceDescending)).items.map(\.listPrice.minorUnits)
        #expect(dearest.first == 18900 && dearest == dearest.sorted(by: >))
        let all = try await shop.mall.catalog.products(ProductSearch())
        let second = try await shop.mall.catalog.products(ProductSearch(page: 2))
        #expect(all.total == 22 && all.items.count == 20 && second.items.count == 2)
        #expect(Set(all.items.map(\.sku) + second.items.map(\.sku)).count == 22, "pages neither overlap nor skip")
        await #expect(throws: InvalidInput.self) { try await shop.mall.catalog.products(ProductSearch(page: 0)) }
    }

    @Test func anEditedProductIsFoundByItsNewWordsOnlyAndADelistedOneNotAtAll() async throws {
        let shop = try await TestMall()
        try await shop.mall.catalog.update(
            ProductDetails(sku: "teapot", title: "Glass kettle, 1 l", category: "kitchen", description: "Borosilicate", weightGrams: 800),
            price: usd(3700))
        try await shop.mall.catalog.delist(sku: "headlamp")
        #expect(try await shop.mall.catalog.product(sku: "teapot").title == "Glass kettle, 1 l", "the product itself shows the change at once")
        try await shop.settle()
        #expect(try await skus(shop, ProductSearch(text: "teapot")) == [])
        #expect(try await skus(shop, ProductSearch(text: "borosilicate kettle")) == ["teapot"])
        let kettle = try #require(try await shop.mall.catalog.products(ProductSearch(text: "kettle")).items.first)
        #expect(kettle.listPrice == usd(3700) && kettle.description == "Borosilicate")
        #expect(try await skus(shop, ProductSearch(text: "headlamp")) == [])
        #expect(try await shop.mall.catalog.products(ProductSearch(category: "outdoor")).total == 4)
        #expect(try await shop.mall.catalog.product(sku: "headlamp").onSale == false)
        let quote = try await shop.mall.pricing.quote(lines: [StockLine(sku: "teapot", quantity: 1)], memberID: nil)
        #expect(quote.lines.first?.listAmount == usd(3700), "Pricing's copy follows the new price")
    }

    @Test func pageTotalsFollowProductsMovingBetweenCategoriesAndLeavingTheSale() async throws {
        let shop = try await TestMall()
        func total(_ category: String?) async throws -> Int { try await shop.mall.catalog.products(ProductSearch(category: category)).total }
        #expect(try await total("kitchen") == 5)
        #expect(try await total("drinks") == 4)
        #expect(try await total(nil) == 22)
        try await shop.mall.catalog.update(
            ProductDetails(sku: "teapot", title: "Teapot", category: "drinks", weightGrams: 800), price: usd(3500))
        try await shop.mall.catalog.delist(sku: "mug-stone")
        try await shop.mall.catalog.list(ProductDetails(sku: "sieve", title: "Tea sieve", category: "drinks", weightGrams: 50), price: usd(600))
        try await shop.mall.catalog.update(
            ProductDetails(sku: "teapot", title: "Teapot, blue", category: "drinks", weightGrams: 800), price: usd(3600))
        try await shop.settle()
        #expect(try await total("kitchen") == 3, "one moved out, one delisted")
        #expect(try await total("drinks") == 6, "one moved in, one listed; an edit within the category counts once")
        #expect(try await total(nil) == 22)
        #expect(try await total("no-such-category") == 0)
        #expect(try await shop.mall.catalog.products(ProductSearch(category: "kitchen")).items.count == 3, "the total is what the pages hold")
    }

    @Test func aShopWhoseListingIsBeingRebuiltStartsWithoutSeedingAndListsOnceItIsBuilt() async throws {
        // A database whose catalog listing is of an older version, as after an upgrade.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mall-upgrade-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let engine = HeraldEngine(store: try SQLiteEventStore(path: path), registry: .mall)
        let older = Projection(
            name: "catalog", version: 1, tables: [ProjectionTable(name: "products", columns: [.init("sku", .text)], primaryKey: ["sku"])],
            eventTypes: ["ProductListed"]) { _, _ in }
        try await engine.prepare(older)
        var configuration = MallConfiguration()
        configuration.database = path
        let mall = Mall(engine: engine, configuration: configuration)
        try await mall.prepareProjections()
        #expect(try await mall.seedDemoCatalogIfEmpty() == false, "a shop being upgraded is not a new shop, and its start does not fail")
        await #expect(throws: ProjectionError.self) { try await mall.catalog.products() }
        let catalog = try #require(mall.projections().first { $0.name == "catalog" })
        _ = try await engine.projectionWorker(for: catalog).drain()
        #expect(try await mall.catalog.products().total == 0, "the new version serves once built")
    }

    @Test func rebuildingTheReadSideFromTheLogFindsTheSame() async throws {
        let shop = try await TestMall()
        try await shop.mall.catalog.update(
            ProductDetails(sku: "mug-stone", title: "Stoneware mug, blue", category: "kitchen", weightGrams: 400), price: usd(1500))
        try await shop.settle()
        let searches = [ProductSearch(), ProductSearch(page: 2), ProductSearch(category: "kitchen", sort: .priceDescending), ProductSearch(text: "blue")]
        var before: [[ProductSummary]] = []
        var totals: [Int] = []
        for search in searches {
            let found = try await shop.mall.catalog.products(search)
            before.append(found.items)
            totals.append(found.total)
        }
        let promotions = try await shop.mall.pricing.promotions()
        for projection in shop.mall.projections() { try await shop.mall.engine.rebuild(projection) }
        for (index, search) in searches.enumerated() {
            let found = try await shop.mall.catalog.products(search)
            #expect(found.items == before[index] && found.total == totals[index], "\(search)")
        }
        #expect(try await shop.mall.pricing.promotions() == promotions)
        #expect(promotions.map(\.id) == ["tea-week", "kitchen-50-5", "stationery-3-for-2"], "in the order they were added")
    }

    @Test func aQuoteAppliesAPromotionOnceThePriceBookHasIt() async throws {
        let shop = try await TestMall()
        try await shop.mall.pricing.addPromotion(Promotion(
            id: "socks", name: "Socks 10% off", rule: .productDiscount(sku: "socks-wool", rate: Rate(percent: 10))))
        await #expect(throws: AlreadyExists.self) {
            try await shop.mall.pricing.addPromotion(Promotion(id: "socks", name: "again", rule: .productDiscount(sku: "cocoa", rate: Rate(percent: 10))))
        }
        await #expect(throws: InvalidInput.self) {
            try await shop.mall.pricing.addPromotion(Promotion(id: "no spaces", name: "x", rule: .productDiscount(sku: "cocoa", rate: Rate(percent: 10))))
        }
        try await shop.settle()
        let quote = try await shop.mall.pricing.quote(lines: [StockLine(sku: "socks-wool", quantity: 2)], memberID: nil)
        #expect(quote.goodsTotal == usd(3240))
    }
}
