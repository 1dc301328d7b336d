import Foundation
import Herald
import MallKernel
import MallMemberEvents
import MallPricingEvents

/// A promotion the shop runs: one document per promotion, so adding one is a small
/// commit however many there are. Quotes read promotions from ``PriceBook``.
struct ShopPromotion: AggregateRoot {
    static let streamType = "Promotion"
    let id: String
    var promotion: Promotion
    var pendingEvents = PendingEvents()

    static func add(_ promotion: Promotion) -> ShopPromotion {
        var added = ShopPromotion(id: promotion.id, promotion: promotion)
        added.record(PromotionAdded(promotion: promotion))
        return added
    }
}

/// A promotion was added. Pricing's own event (no other context hears it): it feeds the
/// promotions ``PriceBook`` keeps for quotes.
public struct PromotionAdded: DomainEvent {
    public static let eventType = "PromotionAdded"
    public var promotion: Promotion
}

/// A member's level as Pricing knows it (from Members' events).
struct PricingMember: AggregateRoot {
    static let streamType = "PricingMember"
    let id: String
    var level: MemberLevel
    var pendingEvents = PendingEvents()
}

/// A coupon campaign: the terms its coupons give, and who hands them out.
public struct CouponCampaign: AggregateRoot, Hashable {
    public static let streamType = "CouponCampaign"
    public let id: String
    public var name: String
    public var terms: CouponTerms
    /// Whether members may claim its coupons themselves (`POST /coupons`), each within the
    /// per-member limit. Off by default: campaign ids are readable names, so a campaign
    /// members could claim by guessing its id is free money. Coupons of other campaigns
    /// are issued to a member by the admin.
    public var selfClaimable: Bool
    public var pendingEvents = PendingEvents()

    public init(id: String, name: String, terms: CouponTerms, selfClaimable: Bool = false) {
        self.id = id
        self.name = name
        self.terms = terms
        self.selfClaimable = selfClaimable
    }

    private enum CodingKeys: String, CodingKey { case id, name, terms, selfClaimable }

    /// A campaign stored before members could claim coupons themselves is not claimable.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try container.decode(String.self, forKey: .id), name: try container.decode(String.self, forKey: .name),
            terms: try container.decode(CouponTerms.self, forKey: .terms),
            selfClaimable: try container.decodeIfPresent(Bool.self, forKey: .selfClaimable) ?? false)
    }
}

/// A member's coupons. One document per member, so the per-member limit and single use
/// are checked and changed atomically.
public struct CouponWallet: AggregateRoot {
    public static let streamType = "CouponWallet"

    public struct Coupon: Codable, Hashable, Sendable {
        public enum Status: String, Codable, Hashable, Sendable { case available, redeemed }
        public var code: String
        public var campaignID: String
        public var status: Status
        /// The order holding it while redeemed.
        public var orderID: String?
    }

    public let id: String
    public private(set) var coupons: [Coupon] = []
    public var pendingEvents = PendingEvents()

    public init(memberID: String) { id = memberID }

    public var memberID: String { id }

    public func coupon(_ code: String) -> Coupon? { coupons.first { $0.code == code } }

    mutating func issue(code: String, of campaign: CouponCampaign) throws {
        let held = coupons.count { $0.campaignID == campaign.id }
        guard held < campaign.terms.perMemberLimit else { throw CouponProblem.limitReached(campaign: campaign.id, limit: campaign.terms.perMemberLimit) }
        coupons.append(Coupon(code: code, campaignID: campaign.id, status: .available, orderID: nil))
        record(CouponIssued(code: code, campaignID: campaign.id, memberID: id))
    }

    /// Uses the coupon for an order. Redeeming again for the same order changes nothing.
    mutating func redeem(code: String, for orderID: String) throws {
        guard let index = coupons.firstIndex(where: { $0.code == code }) else { throw CouponProblem.notMine(code: code) }
        switch coupons[index].status {
        case .redeemed where coupons[index].orderID == orderID: return
        case .redeemed: throw CouponProblem.alreadyUsed(code: code)
        case .available:
            coupons[index].status = .redeemed
            coupons[index].orderID = orderID
            record(CouponRedeemed(code: code, memberID: id, orderID: orderID))
        }
    }

    /// Gives back a coupon its order redeemed; anything else changes nothing.
    mutating func giveBack(from orderID: String) {
        for index in coupons.indices where coupons[index].status == .redeemed && coupons[index].orderID == orderID {
            coupons[index].status = .available
            coupons[index].orderID = nil
            record(CouponReturned(code: coupons[index].code, memberID: id, orderID: orderID))
        }
    }

    mutating func reject(code: String, for orderID: String, reason: String) {
        record(CouponRejected(code: code, memberID: id, orderID: orderID, reason: reason))
    }
}

public enum CouponProblem: MallProblem, Hashable {
    case notMine(code: String)
    case alreadyUsed(code: String)
    case limitReached(campaign: String, limit: Int)
    case campaignNotFound(String)

    public var kind: ProblemKind {
        switch self {
        case .campaignNotFound: .notFound
        case .notMine, .alreadyUsed, .limitReached: .ruleViolation
        }
    }

    public var field: String? {
        switch self {
        case .notMine, .alreadyUsed: "couponCode"
        case .limitReached, .campaignNotFound: "campaignID"
        }
    }

    public var description: String {
        switch self {
        case .notMine(let code): "coupon \(code) is not one of yours"
        case .alreadyUsed(let code): "coupon \(code) was already used"
        case .limitReached(let campaign, let limit): "you hold the most coupons of campaign \(campaign) allowed (\(limit))"
        case .campaignNotFound(let id): "no coupon campaign \(id)"
        }
    }
}
