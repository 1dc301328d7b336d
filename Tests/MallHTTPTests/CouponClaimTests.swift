import Foundation
import Testing

/// Who gets coupons: a member claims only from a campaign open to members (the demo's
/// `welcome`), once per its limit; any other campaign answers as one that does not exist,
/// and the admin issues its coupons to a member.
@Suite struct CouponClaimTests {
    static func campaign(_ id: String, selfClaimable: Bool?) -> [String: Any] {
        var body: [String: Any] = ["id": id, "name": "Campaign \(id)", "amountOff": ["minorUnits": 1000, "currency": "USD"],
                                   "minimumSpend": ["minorUnits": 0, "currency": "USD"], "perMemberLimit": 1]
        if let selfClaimable { body["selfClaimable"] = selfClaimable }
        return body
    }

    @Test func membersClaimOnlyFromCampaignsOpenToThemAndTheAdminIssuesTheRest() async throws {
        try await InProcessMall.run { client in
            let admin = MallServerProcess.adminToken
            let ada = try await client.member("ada")
            let welcome = try await client.send("POST", "/coupons", json: ["campaignId": "welcome"], token: ada.token)
            #expect(welcome.status == 201, "the demo's welcome campaign is open to members")
            #expect(try await client.send("POST", "/coupons", json: ["campaignId": "welcome"], token: ada.token).status == 422, "once")

            #expect(try await client.send("POST", "/admin/coupon-campaigns", json: Self.campaign("vip-10", selfClaimable: nil), token: admin).status == 201)
            let guessed = try await client.send("POST", "/coupons", json: ["campaignId": "vip-10"], token: ada.token)
            #expect(guessed.status == 404, "a campaign's id, guessed or leaked, gives nothing")
            #expect(guessed.string("detail") == "no coupon campaign vip-10", "answered as one that does not exist")
            #expect(try await client.send("GET", "/coupons", token: ada.token).array.count == 1)

            let issued = try await client.send("POST", "/admin/coupon-campaigns/vip-10/coupons", json: ["memberId": ada.id], token: admin)
            #expect(issued.status == 201, "the admin issues it to a member")
            #expect(try await client.send("GET", "/coupons", token: ada.token).array.count == 2)

            #expect(try await client.send("POST", "/admin/coupon-campaigns", json: Self.campaign("spring", selfClaimable: true), token: admin).status == 201)
            #expect(try await client.send("POST", "/coupons", json: ["campaignId": "spring"], token: ada.token).status == 201)
        }
    }
}
