import MallKernel
import MallPricing
import MallPricingEvents

/// Pricing: promotions, coupon campaigns and coupons, quotes.
extension Mall {
    /// Adds a promotion (in the shop's currency).
    public func addPromotion(_ promotion: Promotion) async throws { try await pricing.addPromotion(promotion) }

    /// Creates a coupon campaign; returns its id.
    @discardableResult
    public func createCampaign(id: String, name: String, terms: CouponTerms, selfClaimable: Bool) async throws -> String {
        try await pricing.createCampaign(id: id, name: name, terms: terms, selfClaimable: selfClaimable).id
    }

    /// Gives a member a coupon of a campaign (the admin); returns its code.
    public func issueCoupon(campaignID: String, to memberID: String) async throws -> String {
        try await pricing.issueCoupon(campaignID: campaignID, to: memberID)
    }

    /// The member claims a coupon of a self-claimable campaign; returns its code.
    public func claimCoupon(campaignID: String, memberID: String) async throws -> String {
        try await pricing.claimCoupon(campaignID: campaignID, memberID: memberID)
    }

    /// The member's coupons.
    public func coupons(memberID: String) async throws -> [CouponBody] {
        try await pricing.wallet(memberID: memberID).coupons.map(CouponBody.init)
    }

    /// The price of `lines` for the member (or a guest) now.
    public func quote(lines: [StockLine], memberID: String?, couponCode: String? = nil, delivery: DeliveryOption = .standard) async throws -> QuoteBody {
        QuoteBody(try await pricing.quote(lines: lines, memberID: memberID, couponCode: couponCode, delivery: delivery))
    }
}
