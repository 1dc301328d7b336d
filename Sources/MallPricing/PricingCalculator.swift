import Foundation
import MallKernel
import MallMemberEvents
import MallPricingEvents

/// Shop-wide pricing settings: currency, member discount per level, freight per delivery option.
public struct PricingPolicy: Codable, Hashable, Sendable {
    public var currency: String
    /// The discount each member level gets on items not in a multi-product promotion.
    public var memberDiscounts: [MemberLevel: Rate]
    public var freight: [DeliveryOption: FreightRate]

    public init(currency: String, memberDiscounts: [MemberLevel: Rate], freight: [DeliveryOption: FreightRate]) {
        self.currency = currency
        self.memberDiscounts = memberDiscounts
        self.freight = freight
    }
}

/// A rule of pricing that a request broke; each names what was wrong.
public enum PricingError: Error, Hashable, Sendable, CustomStringConvertible {
    case noLines
    case tooManyLines(count: Int, limit: Int)
    case invalidQuantity(sku: String, quantity: Int, limit: Int)
    case unknownProduct(sku: String)
    case productNotOnSale(sku: String)
    case couponNotApplicable(code: String, reason: String)
    case deliveryNotOffered(DeliveryOption)

    public var description: String {
        switch self {
        case .noLines: "the order has no lines"
        case .tooManyLines(let count, let limit): "\(count) lines, at most \(limit) allowed"
        case .invalidQuantity(let sku, let quantity, let limit): "quantity \(quantity) of \(sku) is not within 1...\(limit)"
        case .unknownProduct(let sku): "no product with SKU \(sku)"
        case .productNotOnSale(let sku): "product \(sku) is not on sale"
        case .couponNotApplicable(let code, let reason): "coupon \(code) cannot be used: \(reason)"
        case .deliveryNotOffered(let option): "delivery option \(option.rawValue) is not offered"
        }
    }
}

/// A request for a price: what is bought, by whom, when, with which coupon and delivery.
public struct QuoteRequest: Sendable {
    public var lines: [StockLine]
    public var memberLevel: MemberLevel?
    public var coupon: PresentedCoupon?
    public var delivery: DeliveryOption
    public var at: Date

    public init(lines: [StockLine], memberLevel: MemberLevel?, coupon: PresentedCoupon? = nil, delivery: DeliveryOption = .standard, at: Date) {
        self.lines = lines
        self.memberLevel = memberLevel
        self.coupon = coupon
        self.delivery = delivery
        self.at = at
    }
}

/// The selling price: the one function that turns a basket into a ``PriceQuote``.
///
/// Order of application (each step works on the line amounts the previous one left):
/// 1. **Single-product promotions**: the best active `productDiscount` of each line's SKU.
/// 2. **Multi-product promotions**, in the order given: each takes the lines it covers
///    that no earlier multi-product promotion took; when its condition is met those lines
///    form its group (and no later promotion or member price touches them).
///    Group discounts are shared out over the group's lines in proportion to their amounts.
/// 3. **Member price**: the member level's rate off every line not in a group.
/// 4. **Coupon**: on the lines its scope covers, if they reach its minimum spend.
/// 5. **Freight**: from the goods total after every discount, by weight, free over a threshold.
///
/// Rounding: every percentage is rounded half up to a whole minor unit, per line
/// (``Rate/portion(of:)``); amounts shared over lines are split exactly by largest remainder,
/// so a line's adjustments always add up to the rule's total and no line goes below zero.
public struct PricingCalculator: Sendable {
    public static let maximumLines = 100
    public static let maximumQuantity = StockLine.maximumQuantity

    public var policy: PricingPolicy
    public var products: [String: PricedProduct]
    public var promotions: [Promotion]

    public init(policy: PricingPolicy, products: [String: PricedProduct], promotions: [Promotion]) {
        self.policy = policy
        self.products = products
        self.promotions = promotions
    }

    /// Prices `request`.
    ///
    /// - Throws: ``PricingError`` naming the line, coupon or option that cannot be priced.
    public func quote(_ request: QuoteRequest) throws -> PriceQuote {
        var lines = try basket(request.lines)
        let active = promotions.filter { $0.window.contains(request.at) }

        for index in lines.indices {
            let best = active.compactMap { promotion -> (Promotion, Rate)? in
                guard case .productDiscount(let sku, let rate) = promotion.rule, sku == lines[index].product.sku else { return nil }
                return (promotion, rate)
            }.max { $0.1 < $1.1 }
            if let (promotion, rate) = best {
                try lines[index].apply(try rate.portion(of: lines[index].net), rule: promotion.name, kind: .productPromotion)
            }
        }

        var grouped = Set<Int>()
        for promotion in active where promotion.isMultiProduct {
            let members = lines.indices.filter { !grouped.contains($0) && promotion.covers(lines[$0].product) }
            if try applyGroup(promotion, to: members, in: &lines) { grouped.formUnion(members) }
        }

        if let level = request.memberLevel, let rate = policy.memberDiscounts[level], rate.isValidDiscount {
            for index in lines.indices where !grouped.contains(index) {
                try lines[index].apply(try rate.portion(of: lines[index].net), rule: "Member price (\(level.rawValue), \(rate) off)", kind: .memberPrice)
            }
        }

        if let coupon = request.coupon { try apply(coupon, at: request.at, to: &lines) }

        guard let freightRate = policy.freight[request.delivery] else { throw PricingError.deliveryNotOffered(request.delivery) }
        let zero = Money.zero(policy.currency)
        let listTotal = try lines.reduce(zero) { try $0 + $1.listAmount }
        let goodsTotal = try lines.reduce(zero) { try $0 + $1.net }
        let weight = try lines.reduce(0) { total, line in
            let (grams, overflow) = line.product.weightGrams.multipliedReportingOverflow(by: line.quantity)
            guard !overflow, grams <= Int.max - total else { throw DataIntegrityError("the weight of \(line.product.sku) × \(line.quantity) is beyond range") }
            return total + grams
        }
        let (freight, freightRule) = try freightRate.charge(goodsTotal: goodsTotal, weightGrams: weight)
        return PriceQuote(
            currency: policy.currency,
            lines: lines.map(\.quoted), discounts: try Self.summarise(lines),
            listTotal: listTotal, discountTotal: try listTotal - goodsTotal, goodsTotal: goodsTotal,
            freight: freight, freightRule: freightRule, total: try goodsTotal + freight,
            couponCode: request.coupon?.code)
    }

    /// Validated lines, duplicates of a SKU merged in first-seen order.
    private func basket(_ requested: [StockLine]) throws -> [WorkingLine] {
        guard !requested.isEmpty else { throw PricingError.noLines }
        guard requested.count <= Self.maximumLines else { throw PricingError.tooManyLines(count: requested.count, limit: Self.maximumLines) }
        var lines: [WorkingLine] = []
        var indexBySKU: [String: Int] = [:]
        for line in requested {
            guard (1...Self.maximumQuantity).contains(line.quantity) else {
                throw PricingError.invalidQuantity(sku: line.sku, quantity: line.quantity, limit: Self.maximumQuantity)
            }
            guard let product = products[line.sku] else { throw PricingError.unknownProduct(sku: line.sku) }
            guard product.onSale else { throw PricingError.productNotOnSale(sku: line.sku) }
            if let index = indexBySKU[line.sku] {
                let quantity = lines[index].quantity + line.quantity
                guard quantity <= Self.maximumQuantity else {
                    throw PricingError.invalidQuantity(sku: line.sku, quantity: quantity, limit: Self.maximumQuantity)
                }
                lines[index] = try WorkingLine(product: product, quantity: quantity)
            } else {
                indexBySKU[line.sku] = lines.count
                lines.append(try WorkingLine(product: product, quantity: line.quantity))
            }
        }
        return lines
    }

    /// Applies one multi-product promotion to the candidate lines; whether its condition held.
    private func applyGroup(_ promotion: Promotion, to members: [Int], in lines: inout [WorkingLine]) throws -> Bool {
        guard !members.isEmpty else { return false }
        let base = try members.reduce(Money.zero(policy.currency)) { try $0 + lines[$1].net }
        let items = members.reduce(0) { $0 + lines[$1].quantity }
        switch promotion.rule {
        case .productDiscount:
            return false
        case .spendAndSave(_, let threshold, let saving, let repeating):
            guard threshold.minorUnits > 0, base >= threshold else { return false }
            let times = repeating ? base.minorUnits / threshold.minorUnits : 1
            let discount = try (Money(minorUnits: saving.minorUnits, currency: base.currency) * Int(times)).capped(at: base)
            try share(discount, over: members, in: &lines, rule: promotion.name, kind: .groupPromotion)
            return true
        case .quantityDiscount(_, let minimumItems, let rate):
            guard items >= minimumItems else { return false }
            for index in members {
                try lines[index].apply(try rate.portion(of: lines[index].net), rule: promotion.name, kind: .groupPromotion)
            }
            return true
        case .cheapestFree(_, let groupSize, let freeItems):
            guard groupSize > 0 else { return false }
            var free = (items / groupSize) * min(freeItems, groupSize)
            guard free > 0 else { return false }
            // Cheapest unit first; a line's unit price is its amount so far over its quantity,
            // compared exactly by cross-multiplying.
            let cheapestFirst = members.sorted { a, b in
                let left = lines[a].net.minorUnits * Int64(lines[b].quantity)
                let right = lines[b].net.minorUnits * Int64(lines[a].quantity)
                return left != right ? left < right : a < b
            }
            for index in cheapestFirst where free > 0 {
                let units = min(free, lines[index].quantity)
                free -= units
                let amount = lines[index].net.minorUnits.multipliedFullWidth(by: Int64(units))
                let (quotient, remainder) = Int64(lines[index].quantity).dividingFullWidth(amount)
                let value = quotient + (2 * remainder >= Int64(lines[index].quantity) ? 1 : 0)
                try lines[index].apply(Money(minorUnits: value, currency: policy.currency), rule: promotion.name, kind: .groupPromotion)
            }
            return true
        }
    }

    private func apply(_ coupon: PresentedCoupon, at date: Date, to lines: inout [WorkingLine]) throws {
        let terms = coupon.terms
        guard terms.window.contains(date) else {
            throw PricingError.couponNotApplicable(code: coupon.code, reason: "outside its validity window")
        }
        let covered = lines.indices.filter { terms.scope.covers(lines[$0].product) }
        guard !covered.isEmpty else {
            throw PricingError.couponNotApplicable(code: coupon.code, reason: "no item in the order is covered by it")
        }
        let eligible = try covered.reduce(Money.zero(policy.currency)) { try $0 + lines[$1].net }
        guard eligible >= terms.minimumSpend else {
            throw PricingError.couponNotApplicable(
                code: coupon.code, reason: "covered items cost \(eligible), the minimum spend is \(terms.minimumSpend)")
        }
        let discount: Money
        switch terms.benefit {
        case .amountOff(let amount): discount = amount.capped(at: eligible)
        case .percentOff(let rate, let cap):
            let portion = try rate.portion(of: eligible)
            discount = cap.map { portion.capped(at: $0) } ?? portion
        }
        try share(discount, over: covered, in: &lines, rule: "Coupon \(coupon.code) (\(coupon.campaignName))", kind: .coupon)
    }

    /// Splits `amount` over `members` in proportion to their amounts, by largest remainder
    /// (ties to the earlier line). Requires `amount` ≤ the members' total.
    private func share(_ amount: Money, over members: [Int], in lines: inout [WorkingLine], rule: String, kind: PriceQuote.Adjustment.Kind) throws {
        let total = members.reduce(Int64(0)) { $0 + lines[$1].net.minorUnits }
        guard total > 0, amount.minorUnits > 0 else { return }
        var shares: [(index: Int, value: Int64, remainder: Int64)] = members.map { index in
            let (quotient, remainder) = total.dividingFullWidth(amount.minorUnits.multipliedFullWidth(by: lines[index].net.minorUnits))
            return (index, quotient, remainder)
        }
        var left = amount.minorUnits - shares.reduce(0) { $0 + $1.value }
        for position in shares.indices.sorted(by: { shares[$0].remainder > shares[$1].remainder || (shares[$0].remainder == shares[$1].remainder && $0 < $1) }) where left > 0 {
            shares[position].value += 1
            left -= 1
        }
        for share in shares {
            try lines[share.index].apply(Money(minorUnits: share.value, currency: amount.currency), rule: rule, kind: kind)
        }
    }

    private static func summarise(_ lines: [WorkingLine]) throws -> [PriceQuote.Adjustment] {
        var order: [String] = []
        var totals: [String: PriceQuote.Adjustment] = [:]
        for adjustment in lines.flatMap(\.adjustments) {
            if var existing = totals[adjustment.rule] {
                try existing.amount += adjustment.amount
                totals[adjustment.rule] = existing
            } else {
                order.append(adjustment.rule)
                totals[adjustment.rule] = adjustment
            }
        }
        // Application order: the steps in order, rules within a step as first met.
        let steps: [PriceQuote.Adjustment.Kind] = [.productPromotion, .groupPromotion, .memberPrice, .coupon]
        return steps.flatMap { step in order.compactMap { totals[$0] }.filter { $0.kind == step } }
    }
}

extension Promotion {
    func covers(_ product: PricedProduct) -> Bool {
        switch rule {
        case .productDiscount(let sku, _): product.sku == sku
        case .spendAndSave(let scope, _, _, _), .quantityDiscount(let scope, _, _), .cheapestFree(let scope, _, _): scope.covers(product)
        }
    }
}

/// A line while it is being priced.
private struct WorkingLine {
    let product: PricedProduct
    let quantity: Int
    var adjustments: [PriceQuote.Adjustment] = []
    var net: Money

    let listAmount: Money

    init(product: PricedProduct, quantity: Int) throws {
        self.product = product
        self.quantity = quantity
        listAmount = try product.listPrice * quantity
        net = listAmount
    }

    mutating func apply(_ amount: Money, rule: String, kind: PriceQuote.Adjustment.Kind) throws {
        let taken = amount.capped(at: net)
        guard taken.minorUnits > 0 else { return }
        try net -= taken
        adjustments.append(PriceQuote.Adjustment(rule: rule, kind: kind, amount: taken))
    }

    var quoted: PriceQuote.Line {
        PriceQuote.Line(
            sku: product.sku, title: product.title, quantity: quantity, unitListPrice: product.listPrice,
            listAmount: listAmount, adjustments: adjustments, netAmount: net)
    }
}

extension PricingError: MallProblem {
    public var kind: ProblemKind {
        switch self {
        case .noLines, .tooManyLines, .invalidQuantity: .invalidInput
        case .unknownProduct, .productNotOnSale, .couponNotApplicable, .deliveryNotOffered: .ruleViolation
        }
    }

    public var field: String? {
        switch self {
        case .noLines, .tooManyLines: "lines"
        case .invalidQuantity: "quantity"
        case .unknownProduct, .productNotOnSale: "sku"
        case .couponNotApplicable: "couponCode"
        case .deliveryNotOffered: "delivery"
        }
    }
}
