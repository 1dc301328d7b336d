import Herald
import MallCatalog
import MallKernel
import MallPricing

extension Mall {
    /// The demo catalog: products in five categories with stock, three promotions and a
    /// welcome coupon campaign. Seeds only an empty shop, and once: when several nodes
    /// start together, the one that records the seed marker first seeds.
    ///
    /// - Returns: whether it seeded.
    @discardableResult
    public func seedDemoCatalogIfEmpty() async throws -> Bool {
        do {
            guard try await catalog.products().total == 0 else { return false }
        } catch ProjectionError.notReady {
            // A new version of the listing is being built from the log: not a new shop.
            return false
        }
        do {
            let claimed = try await engine.perform(attempts: 1) { work in
                guard try await work.load(SeedMarker.self, id: SeedMarker.mainID) == nil else { return false }
                var marker = SeedMarker()
                try work.save(&marker)
                return true
            }
            guard claimed else { return false }
        } catch is ConcurrencyConflict {
            return false
        }
        let currency = configuration.pricing.currency
        func price(_ cents: Int64) -> Money { Money(minorUnits: cents, currency: currency) }
        let products: [(String, String, String, Int64, Int, Int)] = [
            // sku, title, category, price, grams, stock
            ("tea-jasmine", "Jasmine green tea, 100 g", "drinks", 1200, 120, 200),
            ("tea-oolong", "Oolong tea, 100 g", "drinks", 1500, 120, 150),
            ("coffee-beans", "Coffee beans, 1 kg", "drinks", 2900, 1050, 80),
            ("cocoa", "Drinking chocolate, 500 g", "drinks", 900, 520, 60),
            ("mug-stone", "Stoneware mug", "kitchen", 1400, 400, 120),
            ("teapot", "Glass teapot, 1 l", "kitchen", 3500, 800, 40),
            ("pan-iron", "Cast-iron pan, 26 cm", "kitchen", 5900, 2600, 25),
            ("knife-chef", "Chef's knife, 20 cm", "kitchen", 7900, 300, 30),
            ("board-oak", "Oak cutting board", "kitchen", 3900, 1500, 35),
            ("book-ddd", "Domain-Driven Design", "books", 5500, 1100, 50),
            ("book-swift", "The Swift Programming Language", "books", 3900, 900, 50),
            ("book-sql", "SQL Performance Explained", "books", 2900, 500, 40),
            ("book-cook", "Salt, Fat, Acid, Heat", "books", 3500, 1300, 30),
            ("pen-fountain", "Fountain pen", "stationery", 2400, 40, 100),
            ("ink-blue", "Blue ink, 50 ml", "stationery", 800, 120, 200),
            ("notebook-a5", "Dotted notebook A5", "stationery", 1600, 300, 150),
            ("pencil-set", "Graphite pencils, set of 6", "stationery", 700, 90, 300),
            ("tent-2p", "Two-person tent", "outdoor", 18900, 2400, 10),
            ("bottle-steel", "Steel water bottle, 750 ml", "outdoor", 2200, 350, 90),
            ("headlamp", "Headlamp, 300 lm", "outdoor", 3200, 90, 70),
            ("stove-camp", "Camping stove", "outdoor", 4500, 400, 20),
            ("socks-wool", "Wool hiking socks", "outdoor", 1800, 100, 10),
        ]
        for (sku, title, category, cents, grams, stock) in products {
            try await catalog.list(ProductDetails(sku: sku, title: title, category: category, weightGrams: grams), price: price(cents))
            try await inventory.receive(sku: sku, quantity: stock)
        }
        try await pricing.addPromotion(Promotion(
            id: "tea-week", name: "Tea week: 20% off jasmine tea", rule: .productDiscount(sku: "tea-jasmine", rate: Rate(percent: 20))))
        try await pricing.addPromotion(Promotion(
            id: "kitchen-50-5", name: "Kitchen: save USD 5 on every USD 50",
            rule: .spendAndSave(scope: .categories(["kitchen"]), threshold: price(5000), saving: price(500), repeating: true)))
        try await pricing.addPromotion(Promotion(
            id: "stationery-3-for-2", name: "Stationery: 3 for 2",
            rule: .cheapestFree(scope: .categories(["stationery"]), groupSize: 3, freeItems: 1)))
        try await pricing.createCampaign(
            id: "welcome", name: "Welcome: USD 5 off USD 30",
            terms: CouponTerms(benefit: .amountOff(price(500)), minimumSpend: price(3000), perMemberLimit: 1), selfClaimable: true)
        return true
    }
}

/// Records that the demo catalog was seeded into this database.
struct SeedMarker: AggregateRoot {
    static let streamType = "DemoSeed"
    static let mainID = "demo"
    var id = SeedMarker.mainID
    var pendingEvents = PendingEvents()
}
