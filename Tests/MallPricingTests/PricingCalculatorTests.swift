import Foundation
import MallKernel
import MallMemberEvents
import MallPricing
import MallPricingEvents
import Testing

/// Every expected amount below was computed by hand (the arithmetic is in the comments),
/// not by running the calculator.
@Suite struct PricingCalculatorTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func usd(_ cents: Int64) -> Money { Money(minorUnits: cents, currency: "USD") }

    static let products: [String: PricedProduct] = [
        "tea": PricedProduct(sku: "tea", title: "Tea", category: "drinks", listPrice: usd(1000), weightGrams: 200),
        "coffee": PricedProduct(sku: "coffee", title: "Coffee", category: "drinks", listPrice: usd(2500), weightGrams: 500),
        "mug": PricedProduct(sku: "mug", title: "Mug", category: "kitchen", listPrice: usd(800), weightGrams: 400),
        "pan": PricedProduct(sku: "pan", title: "Pan", category: "kitchen", listPrice: usd(4599), weightGrams: 1500),
        "pen": PricedProduct(sku: "pen", title: "Pen", category: "stationery", listPrice: usd(990), weightGrams: 50),
        "old": PricedProduct(sku: "old", title: "Old", category: "kitchen", listPrice: usd(100), weightGrams: 10, onSale: false),
    ]

    static let policy = PricingPolicy(
        currency: "USD",
        memberDiscounts: [.regular: .zero, .silver: Rate(percent: 5), .gold: Rate(percent: 10)],
        freight: [
            .standard: FreightRate(name: "Standard", baseFee: usd(500), includedGrams: 1000, feePerExtraKilogram: usd(200), freeOver: usd(9900)),
            .express: FreightRate(name: "Express", baseFee: usd(1500), includedGrams: 1000, feePerExtraKilogram: usd(300), freeOver: nil),
        ])

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var lines: [(String, Int)]
        var level: MemberLevel? = nil
        var promotions: [Promotion] = []
        var coupon: PresentedCoupon? = nil
        var delivery: DeliveryOption = .standard
        /// Net amount of each line, in quote order.
        var nets: [Int64]
        /// Each rule's total discount, in application order.
        var discounts: [(String, Int64)] = []
        var freight: Int64
        var total: Int64

        var testDescription: String { name }
    }

    static let teaPromotion = Promotion(id: "p1", name: "Tea week 20% off", rule: .productDiscount(sku: "tea", rate: Rate(percent: 20)))
    static let expired = ValidityWindow(from: now.addingTimeInterval(-7200), until: now.addingTimeInterval(-3600))
    static let tenOffFifty = PresentedCoupon(
        code: "C-10", campaignName: "Ten off fifty", terms: CouponTerms(benefit: .amountOff(usd(1000)), minimumSpend: usd(5000)))

    static let cases: [Case] = [
        // 2 × 1000 = 2000; 400 g ≤ 1 kg → freight 500.
        Case(name: "list price only", lines: [("tea", 2)], nets: [2000], freight: 500, total: 2500),
        // 10% of 2000 = 200.
        Case(name: "gold member price", lines: [("tea", 2)], level: .gold, nets: [1800],
             discounts: [("Member price (gold, 10% off)", 200)], freight: 500, total: 2300),
        // 5% of 990 = 49.5 → rounds half up to 50.
        Case(name: "member price rounds half up", lines: [("pen", 1)], level: .silver, nets: [940],
             discounts: [("Member price (silver, 5% off)", 50)], freight: 500, total: 1440),
        // 20% of 3000 = 600 → 2400; gold 10% of 2400 = 240 → 2160. 600 g → 500.
        Case(name: "single-product promotion, then member price on top", lines: [("tea", 3)], level: .gold,
             promotions: [teaPromotion], nets: [2160],
             discounts: [("Tea week 20% off", 600), ("Member price (gold, 10% off)", 240)], freight: 500, total: 2660),
        // Only the better of 20% and 15%: 20% of 1000 = 200.
        Case(name: "best single-product promotion wins", lines: [("tea", 1)],
             promotions: [Promotion(id: "p2", name: "Tea 15%", rule: .productDiscount(sku: "tea", rate: Rate(percent: 15))), teaPromotion],
             nets: [800], discounts: [("Tea week 20% off", 200)], freight: 500, total: 1300),
        Case(name: "expired promotion is ignored", lines: [("tea", 1)],
             promotions: [Promotion(id: "p3", name: "Old sale", rule: .productDiscount(sku: "tea", rate: Rate(percent: 50)), window: expired)],
             nets: [1000], freight: 500, total: 1500),
        // 5000 + 800 = 5800 ≥ 5000 → 1000 off, shared: coffee 5,000,000/5800 = 862 r400,
        // mug 800,000/5800 = 137 r5400; the leftover cent goes to mug (larger remainder) → 138.
        // Grouped lines get no member price. 1400 g → 1 extra kg → 500 + 200.
        Case(name: "spend and save shares the saving by amount", lines: [("coffee", 2), ("mug", 1)], level: .gold,
             promotions: [Promotion(id: "s1", name: "Save 10 over 50", rule: .spendAndSave(scope: .allProducts, threshold: usd(5000), saving: usd(1000), repeating: false))],
             nets: [4138, 662], discounts: [("Save 10 over 50", 1000)], freight: 700, total: 5500),
        // 10000 holds two full 5000s → 2000 off. 2000 g → 1 extra kg.
        Case(name: "repeating spend and save", lines: [("coffee", 4)],
             promotions: [Promotion(id: "s2", name: "Save 10 per 50", rule: .spendAndSave(scope: .allProducts, threshold: usd(5000), saving: usd(1000), repeating: true))],
             nets: [8000], discounts: [("Save 10 per 50", 2000)], freight: 700, total: 8700),
        // 2500 + 2000 = 4500 < 5000: no saving; member price instead: 250 + 200. 900 g → 500.
        Case(name: "spend and save below threshold leaves member price", lines: [("coffee", 1), ("tea", 2)], level: .gold,
             promotions: [Promotion(id: "s1", name: "Save 10 over 50", rule: .spendAndSave(scope: .allProducts, threshold: usd(5000), saving: usd(1000), repeating: false))],
             nets: [2250, 1800], discounts: [("Member price (gold, 10% off)", 450)], freight: 500, total: 4550),
        // Drinks: 3 items ≥ 3 → 10% each: tea 200, coffee 250. Mug not covered → gold 80.
        // 400 + 500 + 400 = 1300 g → 700.
        Case(name: "buy three drinks get 10% off; other items get member price", lines: [("tea", 2), ("coffee", 1), ("mug", 1)], level: .gold,
             promotions: [Promotion(id: "q1", name: "3 drinks 10% off", rule: .quantityDiscount(scope: .categories(["drinks"]), minimumItems: 3, rate: Rate(percent: 10)))],
             nets: [1800, 2250, 720], discounts: [("3 drinks 10% off", 450), ("Member price (gold, 10% off)", 80)], freight: 700, total: 5470),
        // 3 items → 1 free: the mug (800).
        Case(name: "buy three, the cheapest free", lines: [("coffee", 2), ("mug", 1)],
             promotions: [Promotion(id: "f1", name: "3 for 2", rule: .cheapestFree(scope: .allProducts, groupSize: 3, freeItems: 1))],
             nets: [5000, 0], discounts: [("3 for 2", 800)], freight: 700, total: 5700),
        // 7 items → 2 free, both mugs: 2 × 800. 800 + 1200 = 2000 g → 700.
        Case(name: "cheapest free counts full groups only", lines: [("tea", 4), ("mug", 3)],
             promotions: [Promotion(id: "f1", name: "3 for 2", rule: .cheapestFree(scope: .allProducts, groupSize: 3, freeItems: 1))],
             nets: [4000, 800], discounts: [("3 for 2", 1600)], freight: 700, total: 5500),
        // The drinks saving takes tea and coffee first; "3 for 2" on all products then sees
        // only the 2 mugs (< 3 items) and does not apply, so the mugs get member price.
        // Drinks 3500 ≥ 3000 → 300: tea 1000×300/3500 = 85 r2500, coffee 2500×300/3500 = 214 r1000 → tea 86.
        Case(name: "a line joins at most one multi-product group", lines: [("tea", 1), ("coffee", 1), ("mug", 2)], level: .silver,
             promotions: [
                Promotion(id: "s3", name: "Drinks save 3 over 30", rule: .spendAndSave(scope: .categories(["drinks"]), threshold: usd(3000), saving: usd(300), repeating: false)),
                Promotion(id: "f1", name: "3 for 2", rule: .cheapestFree(scope: .allProducts, groupSize: 3, freeItems: 1)),
             ],
             nets: [914, 2286, 1520], discounts: [("Drinks save 3 over 30", 300), ("Member price (silver, 5% off)", 80)], freight: 700, total: 5420),
        // Gold: 7500 − 750 = 6750 ≥ 5000 → coupon 1000. 1500 g → 700.
        Case(name: "coupon after member price", lines: [("coffee", 3)], level: .gold, coupon: tenOffFifty,
             nets: [5750], discounts: [("Member price (gold, 10% off)", 750), ("Coupon C-10 (Ten off fifty)", 1000)], freight: 700, total: 6450),
        // Kitchen 9198 + 800 = 9998; 20% = 1999.6 → 2000, capped at 1500. Shared: pan
        // 13,797,000/9998 = 1379 r9758, mug 1,200,000/9998 = 120 r240 → pan 1380.
        // 3400 g → 3 extra kg → 500 + 600.
        Case(name: "percent coupon with a cap, scoped to a category", lines: [("pan", 2), ("mug", 1)],
             coupon: PresentedCoupon(code: "K-20", campaignName: "Kitchen 20%", terms: CouponTerms(
                benefit: .percentOff(Rate(percent: 20), cap: usd(1500)), minimumSpend: usd(0), scope: .categories(["kitchen"]))),
             nets: [7818, 680], discounts: [("Coupon K-20 (Kitchen 20%)", 1500)], freight: 1100, total: 9598),
        // 4 × 2500 = 10000 ≥ 9900 → free.
        Case(name: "free shipping over the threshold", lines: [("coffee", 4)], nets: [10000], freight: 0, total: 10000),
        // 10 × 990 = 9900, exactly the threshold → free.
        Case(name: "free shipping at exactly the threshold", lines: [("pen", 10)], nets: [9900], freight: 0, total: 9900),
        // Express is never free: 1500 + 1 extra kg × 300.
        Case(name: "express delivery", lines: [("coffee", 4)], delivery: .express, nets: [10000], freight: 1800, total: 11800),
        // Lines for one SKU merge: 3 × 1000.
        Case(name: "duplicate lines merge", lines: [("tea", 1), ("tea", 2)], nets: [3000], freight: 500, total: 3500),
        // All five steps (the order of application in `PricingCalculator`'s doc comment):
        // 1. tea 20% of 5000 = 1000 → 4000.
        // 2. drinks 4000 + 2500 = 6500 ≥ 5000 → 500: tea 2,000,000/6500 = 307 r4500,
        //    coffee 1,250,000/6500 = 192 r2000 → tea 308: tea 3692, coffee 2308.
        // 3. mug (not grouped), gold: 10% of 1600 = 160 → 1440.
        // 4. coupon 500 over 7440: tea 1,846,000/7440 = 248 r880, coffee 1,154,000/7440 = 155 r800,
        //    mug 720,000/7440 = 96 r5760 → mug 97: 3444, 2153, 1343 = 6940.
        // 5. 1000 + 500 + 800 = 2300 g → 2 extra kg → 900.
        Case(name: "every step in order", lines: [("tea", 5), ("coffee", 1), ("mug", 2)], level: .gold,
             promotions: [teaPromotion, Promotion(id: "s4", name: "Drinks save 5 over 50", rule: .spendAndSave(scope: .categories(["drinks"]), threshold: usd(5000), saving: usd(500), repeating: false))],
             coupon: PresentedCoupon(code: "W-5", campaignName: "Welcome", terms: CouponTerms(benefit: .amountOff(usd(500)), minimumSpend: usd(1000))),
             nets: [3444, 2153, 1343],
             discounts: [("Tea week 20% off", 1000), ("Drinks save 5 over 50", 500), ("Member price (gold, 10% off)", 160), ("Coupon W-5 (Welcome)", 500)],
             freight: 900, total: 7840),
    ]

    @Test(arguments: cases)
    func quoteMatchesHandComputedAmounts(_ example: Case) throws {
        let calculator = PricingCalculator(policy: Self.policy, products: Self.products, promotions: example.promotions)
        let quote = try calculator.quote(QuoteRequest(
            lines: example.lines.map { StockLine(sku: $0.0, quantity: $0.1) }, memberLevel: example.level,
            coupon: example.coupon, delivery: example.delivery, at: Self.now))

        #expect(quote.lines.map(\.netAmount.minorUnits) == example.nets)
        #expect(quote.discounts.map { "\($0.rule)=\($0.amount.minorUnits)" } == example.discounts.map { "\($0.0)=\($0.1)" })
        #expect(quote.freight.minorUnits == example.freight)
        #expect(quote.total.minorUnits == example.total)
        // The itemisation adds up.
        #expect(quote.goodsTotal.minorUnits == example.nets.reduce(0, +))
        #expect(try quote.listTotal - quote.discountTotal == quote.goodsTotal)
        #expect(try quote.goodsTotal + quote.freight == quote.total)
        for line in quote.lines {
            #expect(try line.listAmount - line.adjustments.reduce(.zero("USD")) { try $0 + $1.amount } == line.netAmount)
            #expect(!line.netAmount.isNegative)
        }
    }

    struct Refusal: CustomTestStringConvertible, Sendable {
        var name: String
        var lines: [(String, Int)]
        var level: MemberLevel? = nil
        var coupon: PresentedCoupon? = nil
        var error: PricingError
        var testDescription: String { name }
    }

    static let refusals: [Refusal] = [
        Refusal(name: "no lines", lines: [], error: .noLines),
        Refusal(name: "unknown SKU", lines: [("nope", 1)], error: .unknownProduct(sku: "nope")),
        Refusal(name: "delisted product", lines: [("old", 1)], error: .productNotOnSale(sku: "old")),
        Refusal(name: "zero quantity", lines: [("tea", 0)], error: .invalidQuantity(sku: "tea", quantity: 0, limit: 999)),
        Refusal(name: "negative quantity", lines: [("tea", -3)], error: .invalidQuantity(sku: "tea", quantity: -3, limit: 999)),
        Refusal(name: "huge quantity", lines: [("tea", 1_000_000)], error: .invalidQuantity(sku: "tea", quantity: 1_000_000, limit: 999)),
        Refusal(name: "merged quantity over the limit", lines: [("tea", 600), ("tea", 600)], error: .invalidQuantity(sku: "tea", quantity: 1200, limit: 999)),
        // Gold: 2 × 2500 = 5000 − 500 = 4500 < 5000: the minimum counts after member price.
        Refusal(name: "coupon minimum spend counts after discounts", lines: [("coffee", 2)], level: .gold, coupon: tenOffFifty,
                error: .couponNotApplicable(code: "C-10", reason: "covered items cost USD 45.00, the minimum spend is USD 50.00")),
        Refusal(name: "coupon scope covers nothing", lines: [("tea", 1)],
                coupon: PresentedCoupon(code: "B-1", campaignName: "Books", terms: CouponTerms(benefit: .amountOff(usd(100)), minimumSpend: usd(0), scope: .categories(["books"]))),
                error: .couponNotApplicable(code: "B-1", reason: "no item in the order is covered by it")),
        Refusal(name: "coupon outside its window", lines: [("tea", 1)],
                coupon: PresentedCoupon(code: "X-1", campaignName: "Gone", terms: CouponTerms(benefit: .amountOff(usd(100)), minimumSpend: usd(0), window: expired)),
                error: .couponNotApplicable(code: "X-1", reason: "outside its validity window")),
    ]

    @Test(arguments: refusals)
    func quoteRefusesWithASpecificError(_ example: Refusal) {
        let calculator = PricingCalculator(policy: Self.policy, products: Self.products, promotions: [])
        #expect(throws: example.error) {
            try calculator.quote(QuoteRequest(
                lines: example.lines.map { StockLine(sku: $0.0, quantity: $0.1) }, memberLevel: example.level,
                coupon: example.coupon, at: Self.now))
        }
    }

    @Test func tooManyLinesAreRefused() {
        let calculator = PricingCalculator(policy: Self.policy, products: Self.products, promotions: [])
        let lines = (0...PricingCalculator.maximumLines).map { StockLine(sku: "tea-\($0)", quantity: 1) }
        #expect(throws: PricingError.tooManyLines(count: 101, limit: 100)) {
            try calculator.quote(QuoteRequest(lines: lines, memberLevel: nil, at: Self.now))
        }
    }

    @Test func rateRoundsHalfUp() throws {
        #expect(try Rate(percent: 5).portion(of: Self.usd(990)).minorUnits == 50)    // 49.5 → 50
        #expect(try Rate(percent: 5).portion(of: Self.usd(989)).minorUnits == 49)    // 49.45 → 49
        #expect(try Rate(basisPoints: 1250).portion(of: Self.usd(100)).minorUnits == 13)  // 12.5 → 13
        #expect(try Rate(percent: 10).portion(of: Self.usd(0)).minorUnits == 0)
    }

    @Test func moneyFromDamagedDataThrowsInsteadOfTrapping() throws {
        let usd = Self.usd(100), eur = Money(minorUnits: 100, currency: "EUR")
        #expect(throws: DataIntegrityError.self, "two currencies") { try usd + eur }
        #expect(throws: DataIntegrityError.self, "two currencies") { try usd - eur }
        #expect(throws: DataIntegrityError.self, "overflow") { try Money(minorUnits: .max, currency: "USD") + usd }
        #expect(throws: DataIntegrityError.self, "overflow") { try Money(minorUnits: .max / 2, currency: "USD") * 3 }
        #expect(throws: DataIntegrityError.self, "overflow") { try Rate(percent: 50).portion(of: Money(minorUnits: .max / 100, currency: "USD")) }
        #expect(eur < usd && !(usd < eur), "amounts of two currencies still sort, by currency")

        // A stored product whose price is in another currency, or beyond range, prices as an error.
        let damaged = PricingCalculator(
            policy: Self.policy, products: ["x": PricedProduct(sku: "x", title: "X", category: "c", listPrice: eur, weightGrams: 1, onSale: true),
                                            "y": PricedProduct(sku: "y", title: "Y", category: "c", listPrice: Money(minorUnits: .max / 2, currency: "USD"), weightGrams: 1, onSale: true),
                                            "z": PricedProduct(sku: "z", title: "Z", category: "c", listPrice: usd, weightGrams: 1, onSale: true)],
            promotions: [])
        #expect(throws: DataIntegrityError.self) { try damaged.quote(QuoteRequest(lines: [StockLine(sku: "x", quantity: 1), StockLine(sku: "z", quantity: 1)], memberLevel: nil, at: Date())) }
        #expect(throws: DataIntegrityError.self) { try damaged.quote(QuoteRequest(lines: [StockLine(sku: "y", quantity: 3)], memberLevel: nil, at: Date())) }
    }

    @Test func moneyPrintsWithTwoDecimals() {
        #expect(Self.usd(123_456).description == "USD 1234.56")
        #expect(Self.usd(5).description == "USD 0.05")
        #expect(Self.usd(-1999).description == "USD -19.99")
    }
}
