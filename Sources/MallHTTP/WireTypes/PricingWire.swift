import Foundation
import MallKernel
import MallPricing

struct ClaimCouponRequest: Decodable { var campaignId: String }
struct CouponCodeResponse: Encodable { var code: String }
struct IssueCouponRequest: Decodable { var memberId: String }

struct CouponBody: Encodable {
    var code: String
    var campaignId: String
    var status: String
    var orderId: String?

    init(_ coupon: CouponWallet.Coupon) {
        code = coupon.code
        campaignId = coupon.campaignID
        status = coupon.status.rawValue
        orderId = coupon.orderID
    }
}

/// A coupon campaign as the admin API takes it: exactly one of `amountOff` or
/// `percentOffBasisPoints`; an optional scope by categories or SKUs.
struct CampaignRequest: Decodable {
    var id: String
    var name: String
    var amountOff: MoneyBody?
    var percentOffBasisPoints: Int?
    var cap: MoneyBody?
    var minimumSpend: MoneyBody
    var categories: [String]?
    var skus: [String]?
    var validFrom: Date?
    var validUntil: Date?
    var perMemberLimit: Int?
    /// Whether members may claim its coupons themselves (`POST /coupons`); no by default.
    var selfClaimable: Bool?

    func terms() throws -> CouponTerms {
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
struct PromotionRequest: Decodable {
    enum Kind: String, Decodable { case productDiscount, spendAndSave, quantityDiscount, cheapestFree }
    var id: String
    var name: String
    var kind: Kind
    var sku: String?
    var rateBasisPoints: Int?
    var threshold: MoneyBody?
    var saving: MoneyBody?
    var repeating: Bool?
    var minimumItems: Int?
    var groupSize: Int?
    var freeItems: Int?
    var categories: [String]?
    var skus: [String]?
    var validFrom: Date?
    var validUntil: Date?

    func promotion() throws -> Promotion {
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
