import Foundation
import MallKernel
@testable import MallOrdering
import MallOrderingEvents
import MallPricingEvents
import Testing

/// The order aggregate guards its own transitions: every command tried from every status.
@Suite struct OrderTransitionTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static func usd(_ cents: Int64) -> Money { Money(minorUnits: cents, currency: "USD") }

    static func quote(coupon: String? = nil) -> PriceQuote {
        let line = PriceQuote.Line(sku: "tea", title: "Tea", quantity: 1, unitListPrice: usd(1000), listAmount: usd(1000), adjustments: [], netAmount: usd(1000))
        return PriceQuote(currency: "USD", lines: [line], discounts: [], listTotal: usd(1000), discountTotal: usd(0),
                          goodsTotal: usd(1000), freight: usd(500), freightRule: "Standard", total: usd(1500), couponCode: coupon)
    }

    /// An order brought to `status` through its own methods.
    static func order(in status: Order.Status) throws -> Order {
        var order = Order.submit(
            id: "o-1", memberID: "m-1", quote: quote(), address: Address(name: "A", phone: "1", line1: "x", city: "y", postcode: "z"),
            paymentMethod: "card", delivery: "standard", fromCart: false, at: now)
        switch status {
        case .submitted: break
        case .awaitingPayment: _ = order.stockWasReserved(at: now, paymentWindow: .seconds(60))
        case .paid, .shipped, .completed:
            _ = order.stockWasReserved(at: now, paymentWindow: .seconds(60))
            _ = order.paymentSucceeded(paymentID: "p-1", amount: usd(1500), at: now)
            if status != .paid { try order.ship(at: now) }
            if status == .completed { try order.complete(at: now) }
        case .cancelled: try order.cancel(.customer, detail: "test", at: now)
        }
        try #require(order.status == status)
        order.pendingEvents = .init()
        return order
    }

    @Test(arguments: Order.Status.allCases)
    func aPaidOrderIsNeverCancelledByAnyone(_ status: Order.Status) throws {
        for reason in [CancellationReason.customer, .paymentDeadline, .outOfStock, .couponRejected] {
            var order = try Self.order(in: status)
            let result = Result { try order.cancel(reason, detail: "attempt", at: Self.now) }
            switch status {
            case .submitted, .awaitingPayment:
                #expect((try? result.get()) != nil)
                #expect(order.status == .cancelled && order.cancellation?.reason == reason)
            case .cancelled:
                #expect(order.pendingEvents.isEmpty, "cancelling twice records nothing")
            case .paid, .shipped, .completed:
                #expect(throws: OrderProblem.cannotCancel("o-1", status: status)) { try result.get() }
                #expect(order.status == status)
                #expect(order.pendingEvents.isEmpty)
            }
        }
    }

    @Test(arguments: Order.Status.allCases)
    func aLateDeadlineCancelsOnlyAnUnpaidOrder(_ status: Order.Status) throws {
        var order = try Self.order(in: status)
        order.paymentDeadlineReached(at: Self.now)
        #expect(order.status == (status == .awaitingPayment ? .cancelled : status))
    }

    @Test(arguments: Order.Status.allCases)
    func aPaymentIsTakenOnlyWhileAwaitingPayment(_ status: Order.Status) throws {
        var order = try Self.order(in: status)
        let taken = order.paymentSucceeded(paymentID: "p-2", amount: Self.usd(1500), at: Self.now)
        #expect(taken == (status == .awaitingPayment))
        let recorded = order.pendingEvents.events.map { type(of: $0.event).eventType }
        #expect(recorded == [taken ? OrderPaid.eventType : OrderPaymentRejected.eventType])
    }

    @Test func aPaymentOfTheWrongAmountIsRejected() throws {
        var order = try Self.order(in: .awaitingPayment)
        let taken = order.paymentSucceeded(paymentID: "p-2", amount: Self.usd(1499), at: Self.now)
        #expect(!taken)
        #expect(order.status == .awaitingPayment)
    }

    @Test func theSamePaymentTwiceIsOneEffect() throws {
        var order = try Self.order(in: .awaitingPayment)
        let first = order.paymentSucceeded(paymentID: "p-1", amount: Self.usd(1500), at: Self.now)
        let again = order.paymentSucceeded(paymentID: "p-1", amount: Self.usd(1500), at: Self.now)
        #expect(first && again)
        #expect(order.pendingEvents.count == 1)
    }

    @Test func anOrderWithACouponWaitsForBothStockAndCoupon() throws {
        var order = Order.submit(
            id: "o-2", memberID: "m-1", quote: Self.quote(coupon: "C-1"), address: Address(name: "A", phone: "1", line1: "x", city: "y", postcode: "z"),
            paymentMethod: "card", delivery: "standard", fromCart: false, at: Self.now)
        let afterStock = order.stockWasReserved(at: Self.now, paymentWindow: .seconds(60))
        #expect(afterStock == nil)
        #expect(order.status == .submitted)
        let afterCoupon = order.couponWasRedeemed(at: Self.now, paymentWindow: .seconds(60))
        #expect(afterCoupon == Self.now.addingTimeInterval(60))
        #expect(order.status == .awaitingPayment)
    }

    @Test(arguments: Order.Status.allCases)
    func onlyAPaidOrderShipsAndOnlyAShippedOrderCompletes(_ status: Order.Status) throws {
        var shipping = try Self.order(in: status)
        let shipped = (try? shipping.ship(at: Self.now)) != nil
        #expect(shipped == (status == .paid))
        var completing = try Self.order(in: status)
        let completed = (try? completing.complete(at: Self.now)) != nil
        #expect(completed == (status == .shipped))
    }
}
