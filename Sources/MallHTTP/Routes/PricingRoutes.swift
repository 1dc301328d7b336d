import Hummingbird
import MallApplication
import MallKernel

/// Pricing: a member's coupons; campaigns, coupons for a member and promotions for the admin.
struct PricingRoutes {
    let mall: Mall

    func routes() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.add(middleware: MemberAuthentication(mall: mall))
        routes.get("/coupons") { _, context in
            try JSON.response(try await mall.coupons(memberID: try context.memberID()))
        }
        routes.post("/coupons") { request, context in
            let body = try await context.decode(ClaimCouponRequest.self, from: request)
            let code = try await mall.claimCoupon(campaignID: body.campaignId, memberID: try context.memberID())
            return try JSON.response(CouponCodeResponse(code: code), status: .created)
        }
        return routes
    }

    func admin() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.post("/coupon-campaigns") { request, context in
            let body = try await context.decode(CampaignRequest.self, from: request)
            let id = try await mall.createCampaign(
                id: body.id, name: body.name, terms: try body.terms(), selfClaimable: body.selfClaimable ?? false)
            return try JSON.response(IDResponse(id: id), status: .created)
        }
        routes.post("/coupon-campaigns/{id}/coupons") { request, context in
            let body = try await context.decode(IssueCouponRequest.self, from: request)
            guard try await mall.memberExists(id: body.memberId) else {
                throw RuleViolation(field: "memberId", "no member \(body.memberId)")  // the campaign exists; the body names no one
            }
            let code = try await mall.issueCoupon(campaignID: try context.parameter("id"), to: body.memberId)
            return try JSON.response(CouponCodeResponse(code: code), status: .created)
        }
        routes.post("/promotions") { request, context in
            let body = try await context.decode(PromotionRequest.self, from: request)
            try await mall.addPromotion(try body.promotion())
            return try JSON.response(IDResponse(id: body.id), status: .created)
        }
        return routes
    }
}
