import Foundation
import Herald
import MallKernel
import MallMemberEvents
import MallPricingEvents

/// The Pricing context's use cases: quotes, promotions, coupon campaigns and coupons.
public struct PricingService: Sendable {
    /// Events Pricing records for its own read side, heard by no other context.
    public static let ownEvents: [any DomainEvent.Type] = [PromotionAdded.self]

    let engine: HeraldEngine
    public let policy: PricingPolicy

    /// Whether promotions apply now (off under the `promotions-off` degradation switch).
    let promotionsApply: @Sendable () -> Bool

    public init(engine: HeraldEngine, policy: PricingPolicy, promotionsApply: @escaping @Sendable () -> Bool = { true }) {
        self.engine = engine
        self.policy = policy
        self.promotionsApply = promotionsApply
    }

    /// Prices a basket for a member (or a guest) now. A coupon must be the member's and unused.
    ///
    /// - Parameter work: the unit of work to read through (placing an order quotes inside
    ///   its own); by default a fresh one.
    /// - Throws: ``PricingError`` or ``CouponProblem`` naming what cannot be priced.
    public func quote(
        lines: [StockLine], memberID: String?, couponCode: String? = nil, delivery: DeliveryOption = .standard,
        reading work: UnitOfWork? = nil
    ) async throws -> PriceQuote {
        let work = work ?? engine.unitOfWork()
        let now = engine.clock.now()
        var level: MemberLevel?
        var coupon: PresentedCoupon?
        if let memberID {
            level = try await work.load(PricingMember.self, id: memberID)?.level ?? .regular
            if let couponCode {
                let wallet = try await work.load(CouponWallet.self, id: memberID) ?? CouponWallet(memberID: memberID)
                guard let held = wallet.coupon(couponCode) else { throw CouponProblem.notMine(code: couponCode) }
                guard held.status == .available else { throw CouponProblem.alreadyUsed(code: couponCode) }
                guard let campaign = try await work.load(CouponCampaign.self, id: held.campaignID) else {
                    throw CouponProblem.campaignNotFound(held.campaignID)
                }
                coupon = PresentedCoupon(code: couponCode, campaignName: campaign.name, terms: campaign.terms)
            }
        } else if let couponCode {
            throw CouponProblem.notMine(code: couponCode)
        }
        guard lines.count <= PricingCalculator.maximumLines else { throw PricingError.tooManyLines(count: lines.count, limit: PricingCalculator.maximumLines) }
        let basket = try await PriceBook.basket(Set(lines.map(\.sku)), at: now, engine: engine)
        let calculator = PricingCalculator(policy: policy, products: basket.products, promotions: promotionsApply() ? basket.promotions : [])
        return try calculator.quote(QuoteRequest(lines: lines, memberLevel: level, coupon: coupon, delivery: delivery, at: now))
    }

    /// Adds a promotion; multi-product promotions apply in the order they were added.
    /// Quotes see it within moments (they read ``PriceBook``, kept from its event).
    public func addPromotion(_ promotion: Promotion) async throws {
        try Self.validate(promotion, currency: policy.currency)
        try await engine.perform { work in
            guard try await work.load(ShopPromotion.self, id: promotion.id) == nil else {
                throw AlreadyExists(field: "id", "a promotion \(promotion.id)")
            }
            var added = ShopPromotion.add(promotion)
            try work.save(&added)
        }
    }

    /// Every promotion, in the order they were added.
    public func promotions() async throws -> [Promotion] {
        try await PriceBook.allPromotions(engine: engine)
    }

    /// Starts a coupon campaign.
    @discardableResult
    public func createCampaign(id: String, name: String, terms: CouponTerms, selfClaimable: Bool = false) async throws -> CouponCampaign {
        let name = try name.validated(field: "name", maxLength: 100)
        try Self.validate(id: id)
        try Self.validate(terms, currency: policy.currency)
        return try await engine.perform { work in
            guard try await work.load(CouponCampaign.self, id: id) == nil else { throw AlreadyExists(field: "id", "a campaign \(id)") }
            var campaign = CouponCampaign(id: id, name: name, terms: terms, selfClaimable: selfClaimable)
            try work.save(&campaign)
            return campaign
        }
    }

    /// Gives a member a coupon of a campaign, within the campaign's per-member limit: what
    /// the admin does, for any campaign.
    ///
    /// - Returns: the coupon's code.
    public func issueCoupon(campaignID: String, to memberID: String) async throws -> String {
        try await issue(campaignID: campaignID, to: memberID, claimed: false)
    }

    /// A member claims a coupon of a campaign open to it (``CouponCampaign/selfClaimable``),
    /// within the per-member limit. A campaign not open to members is answered as one that
    /// does not exist: its id tells a member nothing.
    ///
    /// - Returns: the coupon's code.
    public func claimCoupon(campaignID: String, memberID: String) async throws -> String {
        try await issue(campaignID: campaignID, to: memberID, claimed: true)
    }

    private func issue(campaignID: String, to memberID: String, claimed: Bool) async throws -> String {
        let code = "C-" + couponCode()
        return try await engine.perform { work in
            guard let campaign = try await work.load(CouponCampaign.self, id: campaignID), !claimed || campaign.selfClaimable else {
                throw CouponProblem.campaignNotFound(campaignID)
            }
            var wallet = try await work.load(CouponWallet.self, id: memberID) ?? CouponWallet(memberID: memberID)
            try wallet.issue(code: code, of: campaign)
            try work.save(&wallet)
            return code
        }
    }

    /// Redeems an order's coupon, or records why it cannot be (`CouponRejected`): what
    /// Pricing does when an order is submitted, and what reconciliation re-drives for an
    /// order whose coupon was never settled. A coupon already redeemed for the order
    /// changes nothing.
    public func redeem(code: String, memberID: String, orderID: String) async throws {
        try await engine.perform { work in try await Self.redeem(code: code, memberID: memberID, orderID: orderID, in: work) }
    }

    /// Gives back the coupon an order holds: what Pricing does when an order is cancelled,
    /// and what reconciliation does for a cancelled order still holding one.
    ///
    /// - Returns: whether a coupon was given back.
    @discardableResult
    public func giveBack(memberID: String, orderID: String) async throws -> Bool {
        try await engine.perform { work in try await Self.giveBack(memberID: memberID, orderID: orderID, in: work) }
    }

    static func redeem(code: String, memberID: String, orderID: String, in work: UnitOfWork) async throws {
        var wallet = try await work.load(CouponWallet.self, id: memberID) ?? CouponWallet(memberID: memberID)
        do {
            try wallet.redeem(code: code, for: orderID)
        } catch let problem as CouponProblem {
            wallet.reject(code: code, for: orderID, reason: problem.description)
        }
        guard !wallet.pendingEvents.isEmpty else { return }
        try work.save(&wallet)
    }

    @discardableResult
    static func giveBack(memberID: String, orderID: String, in work: UnitOfWork) async throws -> Bool {
        guard var wallet = try await work.load(CouponWallet.self, id: memberID) else { return false }
        wallet.giveBack(from: orderID)
        guard !wallet.pendingEvents.isEmpty else { return false }  // it held no coupon of this order
        try work.save(&wallet)
        return true
    }

    public func wallet(memberID: String) async throws -> CouponWallet {
        try await engine.unitOfWork().load(CouponWallet.self, id: memberID) ?? CouponWallet(memberID: memberID)
    }

    /// Ten letters and digits (no look-alikes), drawn from the engine's source: the
    /// system's cryptographic generator in a server, a seed in a simulation.
    func couponCode() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        return String((0..<10).map { _ in alphabet[Int(engine.random.nextBits() % UInt64(alphabet.count))] })
    }

    static func validate(id: String) throws {
        guard !id.isEmpty, id.count <= 64, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw InvalidInput(field: "id", "1 to 64 letters, digits or '-'")
        }
    }

    static func validate(_ promotion: Promotion, currency: String) throws {
        try validate(id: promotion.id)
        _ = try promotion.name.validated(field: "name", maxLength: 100)
        switch promotion.rule {
        case .productDiscount(_, let rate), .quantityDiscount(_, _, let rate):
            guard rate.isValidDiscount else { throw InvalidInput(field: "rule.rate", "must be within 1...10000 basis points") }
        case .spendAndSave(_, let threshold, let saving, _):
            guard threshold.currency == currency, saving.currency == currency else { throw InvalidInput(field: "rule", "amounts must be in \(currency)") }
            guard threshold.minorUnits > 0, saving.minorUnits > 0 else { throw InvalidInput(field: "saving", "must be positive") }
            guard saving < threshold else { throw RuleViolation(field: "saving", "must be less than the threshold") }
        case .cheapestFree(_, let groupSize, let freeItems):
            guard (2...100).contains(groupSize), (1...99).contains(freeItems) else {
                throw InvalidInput(field: "freeItems", "need 2 ≤ groupSize ≤ 100 and 1 ≤ freeItems ≤ 99")
            }
            guard freeItems < groupSize else { throw RuleViolation(field: "freeItems", "must be less than groupSize") }
        }
        if case .quantityDiscount(_, let minimum, _) = promotion.rule, !(1...1000).contains(minimum) {
            throw InvalidInput(field: "rule.minimumItems", "must be within 1...1000")
        }
    }

    static func validate(_ terms: CouponTerms, currency: String) throws {
        switch terms.benefit {
        case .amountOff(let amount):
            guard amount.currency == currency, amount.minorUnits > 0 else { throw InvalidInput(field: "terms.benefit", "a positive amount in \(currency)") }
        case .percentOff(let rate, let cap):
            guard rate.isValidDiscount else { throw InvalidInput(field: "terms.benefit.rate", "must be within 1...10000 basis points") }
            if let cap, cap.currency != currency || cap.minorUnits <= 0 { throw InvalidInput(field: "terms.benefit.cap", "a positive amount in \(currency)") }
        }
        guard terms.minimumSpend.currency == currency, terms.minimumSpend.minorUnits >= 0 else {
            throw InvalidInput(field: "terms.minimumSpend", "zero or more, in \(currency)")
        }
        guard (1...100).contains(terms.perMemberLimit) else { throw InvalidInput(field: "terms.perMemberLimit", "must be within 1...100") }
    }
}
