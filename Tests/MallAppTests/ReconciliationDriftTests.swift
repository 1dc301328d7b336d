import Foundation
import Herald
import MallApp
import MallOrdering
import MallPayment
import Testing

/// Reconciliation finds drift, not just its absence: each rule it checks is broken by
/// writing straight into the stored documents (as a bug, a bad migration or a hand edit
/// would), and each breach is reported against the right record.
@Suite struct ReconciliationDriftTests {
    /// Rewrites a stored aggregate document as JSON, bypassing every domain rule.
    func tamper(_ shop: TestMall, _ type: String, _ id: String, _ change: (inout [String: Any]) throws -> Void) async throws {
        let stream = StreamID(type: type, id: id)
        let stored = try #require(try await shop.mall.engine.store.aggregate(stream), "\(stream) exists")
        var document = try #require(try JSONSerialization.jsonObject(with: stored.state) as? [String: Any])
        try change(&document)
        var changeset = Changeset(recordedAt: shop.clock.now())
        changeset.aggregates = [AggregateWrite(stream: stream, expectedVersion: stored.version, state: try JSONSerialization.data(withJSONObject: document))]
        _ = try await shop.mall.engine.store.commit(changeset)
    }

    @Test func everyRuleItChecksIsReportedWhenTheStoredDataBreaksIt() async throws {
        let shop = try await TestMall()
        let ada = try await shop.member("ada"), bob = try await shop.member("bob")
        let adasCoupon = try await shop.mall.pricing.issueCoupon(campaignID: "welcome", to: ada)
        let paid = try await shop.order(ada, [("teapot", 1)])
        let stuck = try await shop.order(ada, [("mug-stone", 1)])
        let unreserved = try await shop.order(bob, [("headlamp", 1)])
        let withCoupon = try await shop.order(ada, [("book-ddd", 1)], coupon: adasCoupon)
        let borrower = try await shop.order(bob, [("book-swift", 1)])
        let unpaid = try await shop.order(bob, [("cocoa", 1)])
        try await shop.settle()
        _ = try await shop.pay(paid.id, ada)
        let untaken = try await shop.mall.startPayment(orderID: unpaid.id, memberID: bob).payment
        try await shop.settle()
        #expect(try await shop.mall.reconcile(submittedGrace: .seconds(300)).drifts == [], "clean before the tampering")

        try await tamper(shop, "Order", paid.id) { $0["status"] = "cancelled" }
        try await tamper(shop, "Order", stuck.id) { order in
            order["status"] = "submitted"
            order["submittedAt"] = (shop.clock.now().timeIntervalSince1970 - 3600) * 1000
        }
        try await tamper(shop, "Reservation", unreserved.id) { $0["status"] = "released" }
        try await tamper(shop, "Stock", "board-oak") { $0["onHand"] = -5 }
        try await tamper(shop, "Order", borrower.id) { order in  // uses a coupon redeemed for another order
            var quote = try #require(order["quote"] as? [String: Any])
            quote["couponCode"] = adasCoupon
            order["quote"] = quote
            order["couponSettled"] = true
        }
        try await tamper(shop, "Payment", untaken.id) { $0["status"] = "succeeded" }  // money taken, never applied

        let report = try await shop.mall.reconcile(submittedGrace: .seconds(300))
        let found = Set(report.drifts.map { "\($0.rule) \($0.subject)" })
        let expected: [String] = [
            "order.paid-never-cancelled Order/\(paid.id)",
            "order.not-stuck Order/\(stuck.id)",
            "order.reservation-matches-status Order/\(unreserved.id)",
            "stock.reserved-matches-reservations Stock/headlamp",  // still held for the released reservation
            "stock.non-negative Stock/board-oak",
            "coupon.redeemed-once Order/\(borrower.id)",
            "payment.applied-or-refunded Payment/\(untaken.id)",
        ]
        for drift in expected { #expect(found.contains(drift), "reported: \(drift)\nall: \(report.drifts)") }
        #expect(Set(report.drifts.map(\.rule)) == [
            "order.paid-never-cancelled", "order.not-stuck", "order.reservation-matches-status", "stock.non-negative",
            "stock.reserved-matches-reservations", "coupon.redeemed-once", "payment.applied-or-refunded",
        ], "every rule reconciliation checks was caught")
        _ = withCoupon
    }

    /// Under the coupons-deferred switch an order waiting for its coupon is waiting by
    /// design, however long: no drift. With the switch off and the coupon still not
    /// redeemed, the same order is stuck; once the saga runs, nothing is.
    @Test func anOrderWaitingForADeferredCouponIsNoDriftUntilTheSwitchIsOff() async throws {
        let shop = try await TestMall()
        let ada = try await shop.member("ada")
        let coupon = try await shop.mall.pricing.issueCoupon(campaignID: "welcome", to: ada)
        try await shop.settle()
        var rules = try await shop.mall.governance.current().rules
        rules.couponsDeferred = true
        try await shop.mall.governance.set(rules, expectedVersion: 0, by: "ops", reason: "coupon service slow")

        let waiting = try await shop.order(ada, [("teapot", 1)], coupon: coupon)
        try await shop.settle(skipping: ["pricing.coupons"])  // as the switch does
        shop.clock.advance(by: .seconds(3600))
        #expect(try await shop.status(waiting.id).status == .submitted)
        #expect(try await shop.mall.reconcile(submittedGrace: .seconds(300)).drifts == [])

        rules.couponsDeferred = false
        try await shop.mall.governance.set(rules, expectedVersion: 1, by: "ops", reason: "recovered")
        let stuck = try await shop.mall.reconcile(submittedGrace: .seconds(300)).drifts
        #expect(stuck.map { "\($0.rule) \($0.subject)" } == ["order.not-stuck Order/\(waiting.id)"])
        try await shop.settle()
        #expect(try await shop.status(waiting.id).status == .awaitingPayment)
        #expect(try await shop.mall.reconcile(submittedGrace: .seconds(300)).drifts == [])
    }
}
