import Foundation
import Herald
@_spi(Operations) import MallApplication
import MallOperations
import MallGateway
import MallInventory
import MallPricing
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
        #expect(stuck.map { "\($0.rule) \($0.subject)" } == [
            "order.not-stuck Order/\(waiting.id)", "subscription.delivers Subscription/pricing.coupons",
        ], "both the order and its event have waited an hour")
        try await shop.settle()
        #expect(try await shop.status(waiting.id).status == .awaitingPayment)
        #expect(try await shop.mall.reconcile(submittedGrace: .seconds(300)).drifts == [])
    }

    /// Drift written straight into the stored documents is found and repaired through the
    /// contexts' own commands, each leaving its event; money taken for a cancelled order is
    /// reported, never touched; a second run finds nothing more to repair.
    @Test func reconciliationRepairsWhatIsSafeThroughDomainCommandsAndReportsTheRest() async throws {
        let gateway = FakeGateway.silent()
        let shop = try await TestMall(gateway: { _ in gateway })
        let ada = try await shop.member("ada"), bob = try await shop.member("bob")
        let coupon = try await shop.mall.pricing.issueCoupon(campaignID: "welcome", to: ada)
        let holding = try await shop.order(bob, [("teapot", 2)])
        let couponHolder = try await shop.order(ada, [("book-ddd", 1)], coupon: coupon)
        let unpaid = try await shop.order(bob, [("cocoa", 1)])
        let paidThenCancelled = try await shop.order(ada, [("headlamp", 1)])
        try await shop.settle()
        _ = try await shop.mall.ordering.cancel(id: holding.id, memberID: bob)
        _ = try await shop.mall.ordering.cancel(id: couponHolder.id, memberID: ada)
        _ = try await shop.pay(paidThenCancelled.id, ada)
        let untaken = try await shop.mall.startPayment(orderID: unpaid.id, memberID: bob).payment
        try await shop.settle()

        // A stuck order: Inventory could not read a damaged stock document, its dead letter
        // was discarded (an operator's mistake), so the order never got a reservation.
        let teapotBefore = try await shop.mall.inventory.stock(sku: "teapot")
        let repairStock = try await damage(shop, "Stock", "mug-stone")
        let stuck = try await shop.order(bob, [("mug-stone", 1)])
        try await shop.settle()
        try await repairStock()
        #expect(try await shop.mall.engine.deadLetters.discard(.all) == 1)
        shop.clock.advance(by: .seconds(3600))

        try await tamper(shop, "Reservation", holding.id) { $0["status"] = "reserved" }  // the release lost
        try await tamper(shop, "Stock", "teapot") { $0["reserved"] = teapotBefore.reserved + 2 }
        try await tamper(shop, "CouponWallet", ada) { wallet in  // the coupon's return lost
            var coupons = try #require(wallet["coupons"] as? [[String: Any]])
            coupons[0]["status"] = "redeemed"
            coupons[0]["orderID"] = couponHolder.id
            wallet["coupons"] = coupons
        }
        try await tamper(shop, "Payment", untaken.id) { $0["status"] = "succeeded" }  // money taken, never applied
        try await tamper(shop, "Order", paidThenCancelled.id) { $0["status"] = "cancelled" }  // money for a cancelled order

        let report = try await shop.mall.reconcileAndRepair()
        let outcomes = Dictionary(report.outcomes.map { ("\($0.drift.rule) \($0.drift.subject)", $0.result) }, uniquingKeysWith: { $1 })
        #expect(outcomes == [
            "order.reservation-matches-status Order/\(holding.id)": .repaired,
            "coupon.redeemed-once CouponWallet/\(ada)": .repaired,
            "order.not-stuck Order/\(stuck.id)": .repaired,
            "payment.applied-or-refunded Payment/\(untaken.id)": .repaired,
        ], "\(report.outcomes)")
        // Money taken for a cancelled order is left to an operator, and so is the stock it
        // holds (releasing it would not give the money back).
        let leftAlone = ["order.paid-never-cancelled", "order.reservation-matches-status"]
        #expect(report.remaining.map { "\($0.rule) \($0.subject)" } == leftAlone.map { "\($0) Order/\(paidThenCancelled.id)" }, "\(report.remaining)")

        // Each repair went through the domain and left its event.
        try await shop.settle()
        #expect(try await shop.mall.inventory.reservation(orderID: holding.id)?.status == .released)
        #expect(try await shop.mall.inventory.stock(sku: "teapot").reserved == teapotBefore.reserved)
        #expect(try await shop.mall.pricing.wallet(memberID: ada).coupon(coupon)?.status == .available)
        #expect(try await shop.status(stuck.id).status == .awaitingPayment, "the re-driven order reserved its stock and moved on")
        #expect(try await shop.mall.payments.payment(id: untaken.id).status == .refunded)
        #expect(await gateway.entry(untaken.id)?.refunded == true, "refunded at the gateway")
        let events = try await Self.eventTypes(shop)
        #expect(events[holding.id]?.contains("StockReleased") == true)
        #expect(events[ada]?.contains("CouponReturned") == true)
        #expect(events[stuck.id]?.contains("StockReserved") == true)
        let refund = try #require(try await Self.events(shop, "RefundRequested").first { $0.contains(untaken.id) })
        #expect(refund.contains("reconciliation"), "the refund says why: \(refund)")

        #expect(try await shop.mall.reconcile().drifts.map(\.rule) == leftAlone)
        let again = try await shop.mall.reconcileAndRepair()
        #expect(again.outcomes.isEmpty, "nothing left to repair: \(again.outcomes)")
        #expect(again.found.drifts.map(\.rule) == leftAlone)
    }

    /// A subject with an event waiting in a subscription's dead letters is left alone:
    /// replaying it may be what fixes it.
    @Test func aDriftWhoseEventIsADeadLetterIsNotRepaired() async throws {
        let shop = try await TestMall()
        let bob = try await shop.member("bob")
        let repairStock = try await damage(shop, "Stock", "mug-stone")
        let stuck = try await shop.order(bob, [("mug-stone", 1)])
        try await shop.settle()
        try await repairStock()
        shop.clock.advance(by: .seconds(3600))

        let report = try await shop.mall.reconcileAndRepair()
        let outcome = try #require(report.outcomes.first { $0.drift.subject == "Order/\(stuck.id)" })
        #expect(outcome.result == .skipped && outcome.note.contains("dead"), "\(outcome)")
        #expect(try await shop.mall.inventory.reservation(orderID: stuck.id) == nil, "nothing reserved beside the dead letter")

        #expect(try await shop.mall.engine.deadLetters.replay(.all) == 1)
        try await shop.settle()
        #expect(try await shop.status(stuck.id).status == .awaitingPayment)
        #expect(try await shop.mall.reconcileAndRepair().remaining == [])
    }

    /// Makes a stored document unreadable; returns what puts it back.
    func damage(_ shop: TestMall, _ type: String, _ id: String) async throws -> () async throws -> Void {
        let store = shop.mall.engine.store, stream = StreamID(type: type, id: id)
        let good = try #require(try await store.aggregate(stream))
        var damage = Changeset(recordedAt: shop.clock.now())
        damage.aggregates = [AggregateWrite(stream: stream, expectedVersion: good.version, state: Data("{".utf8))]
        _ = try await store.commit(damage)
        return {
            var repair = Changeset(recordedAt: shop.clock.now())
            repair.aggregates = [AggregateWrite(stream: stream, expectedVersion: good.version + 1, state: good.state)]
            _ = try await store.commit(repair)
        }
    }

    /// Event types per stream id, from the whole log.
    static func eventTypes(_ shop: TestMall) async throws -> [String: [String]] {
        var types: [String: [String]] = [:]
        try await shop.mall.engine.store.scanLog { batch in
            for event in batch { types[event.stream.id, default: []].append(event.eventType) }
        }
        return types
    }

    /// The payloads (as text) of every event of `type`.
    static func events(_ shop: TestMall, _ type: String) async throws -> [String] {
        var found: [String] = []
        try await shop.mall.engine.store.scanLog { batch in
            for event in batch where event.eventType == type { found.append(String(decoding: event.payload, as: UTF8.self)) }
        }
        return found
    }
}
