import Foundation
import MallKernel
import MallPricing

public struct ClaimCouponRequest: Decodable, Sendable { public var campaignId: String }

public struct CouponCodeResponse: Encodable, Sendable {
    public var code: String

    public init(code: String) {
        self.code = code
    }
}

public struct IssueCouponRequest: Decodable, Sendable { public var memberId: String }

public struct CouponBody: Encodable, Sendable {
    public var code: String
    public var campaignId: String
    public var status: String
    public var orderId: String?

    init(_ coupon: CouponWallet.Coupon) {
        code = coupon.code
        campaignId = coupon.campaignID
        status = coupon.status.rawValue
        orderId = coupon.orderID
    }
}

/// A coupon campaign as the admin API takes it: exactly one of `amountOff` or
/// `percentOffBasisPoints`; an optional scope by categories or SKUs.
public struct CampaignRequest: Decodable, Sendable {
    public var id: String
    public var name: String
    public var amountOff: MoneyBody?
    public var percentOffBasisPoints: Int?
    public var cap: MoneyBody?
    public var minimumSpend: MoneyBody
    public var categories: [String]?
    public var skus: [String]?
    public var validFrom: Date?
    public var validUntil: Date?
    public var perMemberLimit: Int?
    /// Whether members may claim its coupons themselves (`POST /coupons`); no by default.
    public var selfClaimable: Bool?

    public func terms() throws -> CouponTerms {
        let benefit: CouponTerms.Benefit
        switch (amountOff, percentOffBasisPoints) {
        case (let amount?, nil): benefit = .amountOff(amount.money)
        case (nil, let basisPoints?): benefit = .percentOff(Rate(basisPoints: basisPoints), cap: cap?.money)
        default: throw InvalidInput(field: "amountOff", "give exactly one of amountOff and percentOffBasisPoints")
        }
        return CouponTerms(
            benefit: benefit, minimumSpend: minimumSpend.money, scope: try scope(categories: categories, skus: skus),
            window: try window(from: validFrom, until: validUntil), perMemberLimit: perMemberLimit ?? 1)
    }
}

/// A promotion as the admin API takes it; `kind` selects which fields matter.
public struct PromotionRequest: Decodable, Sendable {
    public enum Kind: String, Decodable, Sendable { case productDiscount, spendAndSave, quantityDiscount, cheapestFree }
    public var id: String
    public var name: String
    public var kind: Kind
    public var sku: String?
    public var rateBasisPoints: Int?
    public var threshold: MoneyBody?
    public var saving: MoneyBody?
    public var repeating: Bool?
    public var minimumItems: Int?
    public var groupSize: Int?
    public var freeItems: Int?
    public var categories: [String]?
    public var skus: [String]?
    public var validFrom: Date?
    public var validUntil: Date?

    public func promotion() throws -> Promotion {
        func need<T>(_ value: T?, _ field: String) throws -> T {
            guard let value else { throw InvalidInput(field: field, "is required for kind \(kind.rawValue)") }
            return value
        }
        let scope = try scope(categories: categories, skus: skus)
        let rule: Promotion.Rule = switch kind {
        case .productDiscount: .productDiscount(sku: try need(sku, "sku"), rate: Rate(basisPoints: try need(rateBasisPoints, "rateBasisPoints")))
        case .spendAndSave: .spendAndSave(scope: scope, threshold: try need(threshold, "threshold").money, saving: try need(saving, "saving").money, repeating: repeating ?? false)
        case .quantityDiscount: .quantityDiscount(scope: scope, minimumItems: try need(minimumItems, "minimumItems"), rate: Rate(basisPoints: try need(rateBasisPoints, "rateBasisPoints")))
        case .cheapestFree: .cheapestFree(scope: scope, groupSize: try need(groupSize, "groupSize"), freeItems: try need(freeItems, "freeItems"))
        }
        guard (1...64).contains(id.utf8.count), id.utf8.allSatisfy({ $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") }) else {
            throw InvalidInput(field: "id", "1 to 64 letters, digits or '-'")
        }
        return Promotion(id: id, name: name, rule: rule, window: try window(from: validFrom, until: validUntil))
    }
}

private func scope(categories: [String]?, skus: [String]?) throws -> ProductScope {
    switch (categories, skus) {
    case (nil, nil): return .allProducts
    case (let categories?, nil): return .categories(Set(categories.map { $0.lowercased() }))
    case (nil, let skus?): return .skus(Set(skus))
    default: throw InvalidInput(field: "categories", "give categories or skus, not both")
    }
}

private func window(from: Date?, until: Date?) throws -> ValidityWindow {
    if let from, let until, until <= from { throw RuleViolation(field: "validUntil", "must be after validFrom") }
    return ValidityWindow(from: from, until: until)
}
