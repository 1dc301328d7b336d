import Foundation
import MallKernel
import MallPricingEvents

/// What Pricing knows of a product (its own copy, kept from Catalog's events).
public struct PricedProduct: Codable, Hashable, Sendable {
    public var sku: String
    public var title: String
    public var category: String
    public var listPrice: Money
    public var weightGrams: Int
    public var onSale: Bool

    public init(sku: String, title: String, category: String, listPrice: Money, weightGrams: Int, onSale: Bool = true) {
        self.sku = sku
        self.title = title
        self.category = category
        self.listPrice = listPrice
        self.weightGrams = weightGrams
        self.onSale = onSale
    }
}

/// Which products a promotion or coupon covers.
public enum ProductScope: Codable, Hashable, Sendable {
    case allProducts
    case categories(Set<String>)
    case skus(Set<String>)

    public func covers(_ product: PricedProduct) -> Bool {
        switch self {
        case .allProducts: true
        case .categories(let categories): categories.contains(product.category)
        case .skus(let skus): skus.contains(product.sku)
        }
    }
}

/// A half-open time window `[from, until)`; a missing end is unbounded.
public struct ValidityWindow: Codable, Hashable, Sendable {
    public var from: Date?
    public var until: Date?

    public init(from: Date? = nil, until: Date? = nil) {
        self.from = from
        self.until = until
    }

    public static let always = ValidityWindow()

    public func contains(_ date: Date) -> Bool {
        if let from, date < from { return false }
        if let until, date >= until { return false }
        return true
    }
}

/// A promotion run by the shop. See ``PricingCalculator`` for how they combine.
public struct Promotion: Codable, Hashable, Sendable {
    public enum Rule: Codable, Hashable, Sendable {
        /// Time-limited discount on one product: `rate` off each unit.
        case productDiscount(sku: String, rate: Rate)
        /// "Spend X save Y" (满减) on the covered items: with `repeating`, Y for every full X.
        case spendAndSave(scope: ProductScope, threshold: Money, saving: Money, repeating: Bool)
        /// "Buy N items, get P% off": `rate` off every covered item once `minimumItems` are bought.
        case quantityDiscount(scope: ProductScope, minimumItems: Int, rate: Rate)
        /// "Buy N items, the cheapest M free": for every full `groupSize` covered items,
        /// the `freeItems` cheapest covered items cost nothing.
        case cheapestFree(scope: ProductScope, groupSize: Int, freeItems: Int)
    }

    public var id: String
    /// Shown to customers as the discount's name in quotes.
    public var name: String
    public var rule: Rule
    public var window: ValidityWindow

    public init(id: String, name: String, rule: Rule, window: ValidityWindow = .always) {
        self.id = id
        self.name = name
        self.rule = rule
        self.window = window
    }

    var isMultiProduct: Bool {
        if case .productDiscount = rule { false } else { true }
    }
}

/// What a coupon of a campaign gives, and when it may be used.
public struct CouponTerms: Codable, Hashable, Sendable {
    public enum Benefit: Codable, Hashable, Sendable {
        /// A fixed amount off the covered items (never more than they cost).
        case amountOff(Money)
        /// A rate off the covered items, at most `cap` when one is set.
        case percentOff(Rate, cap: Money?)
    }

    public var benefit: Benefit
    /// The covered items (after promotions and member price) must cost at least this.
    public var minimumSpend: Money
    public var scope: ProductScope
    public var window: ValidityWindow
    /// How many coupons of the campaign one member may hold.
    public var perMemberLimit: Int

    public init(benefit: Benefit, minimumSpend: Money, scope: ProductScope = .allProducts, window: ValidityWindow = .always, perMemberLimit: Int = 1) {
        self.benefit = benefit
        self.minimumSpend = minimumSpend
        self.scope = scope
        self.window = window
        self.perMemberLimit = perMemberLimit
    }
}

/// A coupon presented for a quote: its code, its campaign's name and terms.
public struct PresentedCoupon: Hashable, Sendable {
    public var code: String
    public var campaignName: String
    public var terms: CouponTerms

    public init(code: String, campaignName: String, terms: CouponTerms) {
        self.code = code
        self.campaignName = campaignName
        self.terms = terms
    }
}

/// How a delivery option charges freight.
public struct FreightRate: Codable, Hashable, Sendable {
    public var name: String
    /// Charged for parcels up to `includedGrams`.
    public var baseFee: Money
    public var includedGrams: Int
    /// Charged for every started kilogram above `includedGrams`.
    public var feePerExtraKilogram: Money
    /// Goods totals (after every discount) at or above this ship free; `nil`: never free.
    public var freeOver: Money?

    public init(name: String, baseFee: Money, includedGrams: Int, feePerExtraKilogram: Money, freeOver: Money?) {
        self.name = name
        self.baseFee = baseFee
        self.includedGrams = includedGrams
        self.feePerExtraKilogram = feePerExtraKilogram
        self.freeOver = freeOver
    }

    /// The freight for a parcel, and the rule's description.
    func charge(goodsTotal: Money, weightGrams: Int) throws -> (Money, String) {
        if let freeOver, goodsTotal >= freeOver {
            return (.zero(goodsTotal.currency), "\(name), free over \(freeOver)")
        }
        let extraGrams = max(0, weightGrams - includedGrams)
        let extraKilograms = (extraGrams + 999) / 1000
        let fee = try baseFee + (try feePerExtraKilogram * extraKilograms)
        return (fee, extraKilograms == 0 ? name : "\(name), \(extraKilograms) kg over \(includedGrams / 1000) kg")
    }
}
