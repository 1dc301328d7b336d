import Foundation
import Herald
@_spi(Operations) import MallApplication
import MallOperations
import MallInventory
import MallKernel
import MallOrdering
import MallOrderingEvents
import MallPayment
import MallPaymentEvents
import MallPricing
import MallPricingEvents
import Testing

@Suite struct OrderSagaTests {
    @Test func aPaidOrderShipsCompletesAndCommitsItsStock() async throws {
        let shop = try await TestMall()
        let ada = try await shop.member()
        let coupon = try await shop.mall.pricing.issueCoupon(campaignID: "welcome", to: ada)
        let before = try await shop.mall.inventory.stock(sku: "teapot")

        let submitted = try await shop.order(ada, [("teapot", 1), ("tea-jasmine", 2)], coupon: coupon)
        #expect(submitted.status == .submitted)
        try await shop.settle()
        let waiting = try await shop.status(submitted.id)
        #expect(waiting.status == .awaitingPayment)
        #expect(waiting.paymentDeadline == shop.clock.now().adding(.seconds(900)))
        #expect(try await shop.mall.inventory.stock(sku: "teapot").reserved == before.reserved + 1)
        #expect(try await shop.mall.pricing.wallet(memberID: ada).coupon(coupon)?.status == .redeemed)

        let payment = try await shop.pay(submitted.id, ada)
        #expect(payment.status == .succeeded)
        try await shop.settle()
        #expect(try await shop.status(submitted.id).status == .paid)

        // The deadline passes after payment: the cancelled timer must not touch the order.
        shop.clock.advance(by: .seconds(3600))
        try await shop.settle()
        #expect(try await shop.status(submitted.id).status == .paid)
        #expect(try await shop.events(of: PaymentDeadlineReached.eventType).isEmpty)

        try await shop.mall.ordering.ship(id: submitted.id)
        try await shop.settle()
        let after = try await shop.mall.inventory.stock(sku: "teapot")
        #expect(after.onHand == before.onHand - 1)
        #expect(after.reserved == before.reserved)
        try await shop.mall.ordering.complete(id: submitted.id, memberID: ada)
        let done = try await shop.status(submitted.id)
        #expect(done.status == .completed)
        #expect(done.timeline.map(\.event) == ["OrderSubmitted", "OrderAwaitingPayment", "OrderPaid", "OrderShipped", "OrderCompleted"])
        try await shop.expectNoDrift()
    }

    @Test func theDeadlineCancelsAnUnpaidOrderAndReturnsStockAndCoupon() async throws {
        let shop = try await TestMall(paymentWindow: .seconds(60))
        let ada = try await shop.member()
        let coupon = try await shop.mall.pricing.issueCoupon(campaignID: "welcome", to: ada)
        let before = try await shop.mall.inventory.stock(sku: "knife-chef")

        let order = try await shop.order(ada, [("knife-chef", 2)], coupon: coupon)
        try await shop.settle()
        #expect(try await shop.mall.inventory.stock(sku: "knife-chef").available == before.available - 2)

        shop.clock.advance(by: .seconds(59))
        try await shop.settle()
        #expect(try await shop.status(order.id).status == .awaitingPayment, "not before its time")

        shop.clock.advance(by: .seconds(1))
        try await shop.settle()
        let cancelled = try await shop.status(order.id)
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.cancellation?.reason == .paymentDeadline)
        #expect(try await shop.mall.inventory.stock(sku: "knife-chef").available == before.available)
        #expect(try await shop.mall.pricing.wallet(memberID: ada).coupon(coupon)?.status == .available)
        #expect(try await shop.events(of: CouponReturned.eventType).count == 1)
        try await shop.expectNoDrift()

        // The returned coupon works again.
        _ = try await shop.order(ada, [("knife-chef", 1)], coupon: coupon)
        try await shop.settle()
        #expect(try await shop.mall.pricing.wallet(memberID: ada).coupon(coupon)?.status == .redeemed)
    }

    @Test func aPaymentAfterCancellationIsRefundedNeverApplied() async throws {
        let shop = try await TestMall()
        let ada = try await shop.member()
        let order = try await shop.order(ada, [("headlamp", 1)])
        try await shop.settle()
        let payment = try await shop.mall.startPayment(orderID: order.id, memberID: ada).payment
        try await shop.mall.ordering.cancel(id: order.id, memberID: ada)
        try await shop.settle()

        try await shop.callback(payment)
        try await shop.settle()

        let after = try await shop.status(order.id)
        #expect(after.status == .cancelled)
        #expect(after.paymentID == nil)
        #expect(after.timeline.map(\.event).suffix(2) == ["OrderCancelled", "OrderPaymentRejected"])
        #expect(try await shop.mall.payments.payment(id: payment.id).status == .refunded)
        #expect(try await shop.events(of: RefundRequested.eventType).map { try JSONDecoder().decode(RefundRequested.self, from: $0.payload).orderID } == [order.id])
        try await shop.expectNoDrift()
    }

    @Test func aPaidOrderCannotBeCancelled() async throws {
        let shop = try await TestMall()
        let ada = try await shop.member()
        let order = try await shop.order(ada, [("cocoa", 1)])
        try await shop.settle()
        _ = try await shop.pay(order.id, ada)
        try await shop.settle()
        await #expect(throws: OrderProblem.cannotCancel(order.id, status: .paid)) {
            try await shop.mall.ordering.cancel(id: order.id, memberID: ada)
        }
        #expect(try await shop.status(order.id).status == .paid)
        try await shop.expectNoDrift()
    }

    @Test func fiftyConcurrentOrdersForTenInStockReserveExactlyTen() async throws {
        let shop = try await TestMall()
        let sku = "tent-2p"  // seeded with 10
        #expect(try await shop.mall.inventory.stock(sku: sku).available == 10)
        var buyers: [String] = []
        for index in 0..<50 { buyers.append(try await shop.member("buyer\(index)")) }

        let orderIDs = try await withThrowingTaskGroup(of: String.self) { group in
            for buyer in buyers { group.addTask { try await shop.order(buyer, [(sku, 1)]).id } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        try await shop.settle()

        var statuses: [Order.Status: Int] = [:]
        for id in orderIDs { statuses[try await shop.status(id).status, default: 0] += 1 }
        #expect(statuses == [.awaitingPayment: 10, .cancelled: 40])
        let stock = try await shop.mall.inventory.stock(sku: sku)
        #expect(stock.onHand == 10 && stock.reserved == 10 && stock.available == 0)
        try await shop.expectNoDrift()
    }

    @Test func anOrderShortOfOneLineReservesNothingAndReturnsItsCoupon() async throws {
        let shop = try await TestMall()
        let ada = try await shop.member()
        let coupon = try await shop.mall.pricing.issueCoupon(campaignID: "welcome", to: ada)
        let order = try await shop.order(ada, [("teapot", 1), ("socks-wool", 11)], coupon: coupon)  // socks: 10 in stock
        try await shop.settle()
        let cancelled = try await shop.status(order.id)
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.cancellation?.reason == .outOfStock)
        #expect(try await shop.mall.inventory.stock(sku: "teapot").reserved == 0)
        #expect(try await shop.mall.pricing.wallet(memberID: ada).coupon(coupon)?.status == .available)
        try await shop.expectNoDrift()
    }

    @Test func aRetriedOrderWithTheSameKeyCreatesNothingNew() async throws {
        let shop = try await TestMall()
        let ada = try await shop.member()
        let first = try await shop.order(ada, [("mug-stone", 2)], key: "k-1")
        try await shop.settle()
        let again = try await shop.order(ada, [("mug-stone", 2)], key: "k-1")
        #expect(again.id == first.id)

        let concurrent = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 { group.addTask { try await shop.order(ada, [("ink-blue", 1)], key: "k-2").id } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(concurrent.count == 1)
        await #expect(throws: OrderProblem.idempotencyKeyReused("k-1")) {
            try await shop.order(ada, [("mug-stone", 3)], key: "k-1")
        }
        try await shop.settle()  // the history is a projection
        #expect(try await shop.mall.ordering.orders(memberID: ada).count == 2)
        try await shop.expectNoDrift()
    }

    @Test func duplicateGatewayCallbacksHaveOneEffect() async throws {
        let shop = try await TestMall()
        let ada = try await shop.member()
        let order = try await shop.order(ada, [("cocoa", 1)])
        try await shop.settle()
        let payment = try await shop.mall.startPayment(orderID: order.id, memberID: ada).payment
        let signed = try await shop.mall.payments.signedCallback(for: payment, outcome: .succeeded)
        for attempt in 0..<3 {
            let result = try await shop.mall.payments.callback(signed.report, signature: signed.signature)
            #expect(result.payment.status == .succeeded)
            #expect(result.duplicate == (attempt > 0), "the first applies it, the repeats are duplicates")
        }
        try await shop.settle()
        #expect(try await shop.events(of: PaymentSucceeded.eventType).count == 1)
        #expect(try await shop.events(of: OrderPaid.eventType).count == 1)

        var flipped = signed.report
        flipped.outcome = .failed
        await #expect(throws: PaymentProblem.badSignature, "the signature covers the outcome") {
            try await shop.mall.payments.callback(flipped, signature: signed.signature)
        }
        await #expect(throws: PaymentProblem.contradictingCallback(paymentID: payment.id, status: .succeeded)) {
            try await shop.callback(payment, .failed)
        }
        try await shop.expectNoDrift()
    }

    @Test func aDefaultInstallHasItsOwnRandomGatewaySecretStoredOnce() async throws {
        let first = try await TestMall(seed: false), second = try await TestMall(seed: false)
        let secret = try await first.mall.payments.gatewaySecret()
        #expect(secret.count == 64 && secret.allSatisfy(\.isHexDigit), "256 random bits as hex: \(secret)")
        #expect(try await second.mall.payments.gatewaySecret() != secret, "no built-in secret: each install generates its own")
        #expect(try await first.mall.payments.establishGatewaySecret() == nil, "generated once, on first start")
        #expect(try await first.mall.payments.gatewaySecret() == secret, "kept across starts")
    }

    @Test func forgedStaleOrMismatchedCallbacksAreRefusedAndChangeNothing() async throws {
        let shop = try await TestMall()
        let ada = try await shop.member()
        let order = try await shop.order(ada, [("cocoa", 1)])
        try await shop.settle()
        let payment = try await shop.mall.startPayment(orderID: order.id, memberID: ada).payment
        let eventsBefore = try await shop.mall.engine.store.headPosition()
        let now = Int64(shop.clock.now().timeIntervalSince1970)

        // Signed with a secret the attacker guessed (the old built-in one, say).
        let report = GatewayReport(paymentID: payment.id, outcome: .succeeded, amount: payment.amount, timestamp: now)
        let forged = GatewaySignature(secret: "mall-demo-gateway-secret").sign(report)
        await #expect(throws: PaymentProblem.badSignature) { try await shop.mall.payments.callback(report, signature: forged) }
        await #expect(throws: PaymentProblem.badSignature) { try await shop.mall.payments.callback(report, signature: "not hex") }

        // A genuine callback replayed (or held back) for more than five minutes.
        let genuine = try await shop.mall.payments.signedCallback(for: payment, outcome: .succeeded)
        shop.clock.advance(by: .seconds(5 * 60 + 1))
        await #expect(throws: PaymentProblem.staleCallback(timestamp: genuine.report.timestamp)) {
            try await shop.mall.payments.callback(genuine.report, signature: genuine.signature)
        }
        let future = try await shop.mall.payments.signedCallback(for: payment, outcome: .succeeded, at: shop.clock.now().addingTimeInterval(301))
        await #expect(throws: PaymentProblem.staleCallback(timestamp: future.report.timestamp)) {
            try await shop.mall.payments.callback(future.report, signature: future.signature)
        }

        // Correctly signed, but for another amount or currency than the payment's.
        let secret = try await shop.mall.payments.gatewaySecret()
        let current = Int64(shop.clock.now().timeIntervalSince1970)
        for amount in [Money(minorUnits: 1, currency: payment.amount.currency), Money(minorUnits: payment.amount.minorUnits, currency: "EUR")] {
            let other = GatewayReport(paymentID: payment.id, outcome: .succeeded, amount: amount, timestamp: current)
            await #expect(throws: PaymentProblem.amountMismatch(paymentID: payment.id)) {
                try await shop.mall.payments.callback(other, signature: GatewaySignature(secret: secret).sign(other))
            }
        }

        #expect(try await shop.mall.payments.payment(id: payment.id).status == .pending, "nothing changed")
        #expect(try await shop.mall.engine.store.headPosition() == eventsBefore, "no event recorded")
        try await shop.callback(payment)
        try await shop.settle()
        #expect(try await shop.status(order.id).status == .paid, "the genuine, fresh callback still works")
        try await shop.expectNoDrift()
    }

    @Test func aMemberMayHaveOnlySoManyUnpaidOrdersAtOnce() async throws {
        let shop = try await TestMall(limits: OrderLimits(openOrdersPerMember: 2, quantityPerSKU: 3))
        let ada = try await shop.member()
        let first = try await shop.order(ada, [("cocoa", 1)])
        let second = try await shop.order(ada, [("cocoa", 1)])
        await #expect(throws: OrderProblem.tooManyOpenOrders(limit: 2)) { try await shop.order(ada, [("cocoa", 1)]) }
        try await shop.settle()  // the history is a projection
        #expect(try await shop.mall.ordering.orders(memberID: ada).count == 2, "the refused order was not stored")

        try await shop.settle()
        _ = try await shop.pay(first.id, ada)
        try await shop.settle()
        let third = try await shop.order(ada, [("cocoa", 1)])  // a paid order no longer counts
        await #expect(throws: OrderProblem.tooManyOpenOrders(limit: 2)) { try await shop.order(ada, [("cocoa", 1)]) }
        try await shop.mall.ordering.cancel(id: second.id, memberID: ada)
        _ = try await shop.order(ada, [("cocoa", 1)])  // nor does a cancelled one
        try await shop.settle()
        #expect(try await shop.status(third.id).status == .awaitingPayment)

        let bob = try await shop.member("bob")
        _ = try await shop.order(bob, [("cocoa", 1)])  // the limit is per member
        try await shop.expectNoDrift()
    }

    @Test func oneOrderMayAskForOnlySoManyUnitsOfOneSKU() async throws {
        let shop = try await TestMall(limits: OrderLimits(openOrdersPerMember: 5, quantityPerSKU: 3))
        let ada = try await shop.member()
        await #expect(throws: OrderProblem.quantityLimit(sku: "cocoa", quantity: 4, limit: 3)) { try await shop.order(ada, [("cocoa", 4)]) }
        await #expect(throws: OrderProblem.quantityLimit(sku: "cocoa", quantity: 4, limit: 3), "lines of one SKU count together") {
            try await shop.order(ada, [("cocoa", 2), ("teapot", 1), ("cocoa", 2)])
        }
        await #expect(throws: OrderProblem.quantityLimit(sku: "cocoa", quantity: 5, limit: 3), "the cart too") {
            try await shop.mall.setCartLine(memberID: ada, sku: "cocoa", quantity: 5)
        }
        _ = try await shop.order(ada, [("cocoa", 3)])
        try await shop.settle()  // the history is a projection
        #expect(try await shop.mall.ordering.orders(memberID: ada).count == 1)
        try await shop.expectNoDrift()
    }

    @Test func startingAPaymentTwiceReturnsTheOpenPayment() async throws {
        let shop = try await TestMall()
        let ada = try await shop.member()
        let order = try await shop.order(ada, [("cocoa", 1)])
        try await shop.settle()
        let first = try await shop.mall.startPayment(orderID: order.id, memberID: ada)
        let again = try await shop.mall.startPayment(orderID: order.id, memberID: ada)
        #expect(first.created && !again.created)
        #expect(again.payment.id == first.payment.id, "one open payment per order")
        #expect(try await shop.events(of: PaymentRequested.eventType).count == 1)

        try await shop.callback(first.payment, .failed)
        let retry = try await shop.mall.startPayment(orderID: order.id, memberID: ada)
        #expect(retry.created && retry.payment.id != first.payment.id, "after a failed payment a new one may start")
        try await shop.expectNoDrift()
    }

    @Test func membersSeeOnlyTheirOwnOrders() async throws {
        let shop = try await TestMall()
        let ada = try await shop.member("ada")
        let bob = try await shop.member("bob")
        let order = try await shop.order(ada, [("cocoa", 1)])
        await #expect(throws: OrderProblem.notFound(order.id)) { try await shop.mall.ordering.order(id: order.id, memberID: bob) }
        await #expect(throws: OrderProblem.notFound(order.id)) { try await shop.mall.ordering.cancel(id: order.id, memberID: bob) }
        try await shop.settle()  // the history is a projection
        #expect(try await shop.mall.ordering.orders(memberID: bob).isEmpty)
        #expect(try await shop.mall.ordering.orders(memberID: ada).map(\.id) == [order.id])
        try await shop.expectNoDrift()
    }

    @Test func clientCannotChooseThePrice() async throws {
        // The request has no price field at all; the order's total is the server's quote.
        let shop = try await TestMall()
        let ada = try await shop.member()
        let order = try await shop.order(ada, [("tea-jasmine", 1)])
        // 1200 − 20% tea week = 960; 120 g → standard 500.
        #expect(order.quote.goodsTotal.minorUnits == 960)
        #expect(order.total.minorUnits == 1460)
        try await shop.expectNoDrift()
    }
}
