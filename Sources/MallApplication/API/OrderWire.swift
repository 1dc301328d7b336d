import Foundation
import MallOrdering
import MallPricing
import MallPricingEvents

/// A price: lines with their discounts, the freight and the total (a cart's quote, or
/// the price an order was placed at).
public struct QuoteBody: Encodable, Sendable {
    public struct Adjustment: Encodable, Sendable {
        public var rule: String
        public var kind: String
        public var amount: MoneyBody
    }

    public struct Line: Encodable, Sendable {
        public var sku: String
        public var title: String
        public var quantity: Int
        public var unitListPrice: MoneyBody
        public var listAmount: MoneyBody
        public var adjustments: [Adjustment]
        public var netAmount: MoneyBody
    }

    public var currency: String
    public var lines: [Line]
    public var discounts: [Adjustment]
    public var listTotal: MoneyBody
    public var discountTotal: MoneyBody
    public var goodsTotal: MoneyBody
    public var freight: MoneyBody
    public var freightRule: String
    public var total: MoneyBody
    public var couponCode: String?

    init(_ quote: PriceQuote) {
        func adjustment(_ a: PriceQuote.Adjustment) -> Adjustment { Adjustment(rule: a.rule, kind: a.kind.rawValue, amount: MoneyBody(a.amount)) }
        currency = quote.currency
        lines = quote.lines.map { line in
            Line(sku: line.sku, title: line.title, quantity: line.quantity, unitListPrice: MoneyBody(line.unitListPrice),
                 listAmount: MoneyBody(line.listAmount), adjustments: line.adjustments.map(adjustment), netAmount: MoneyBody(line.netAmount))
        }
        discounts = quote.discounts.map(adjustment)
        (listTotal, discountTotal, goodsTotal) = (MoneyBody(quote.listTotal), MoneyBody(quote.discountTotal), MoneyBody(quote.goodsTotal))
        (freight, freightRule, total, couponCode) = (MoneyBody(quote.freight), quote.freightRule, MoneyBody(quote.total), quote.couponCode)
    }
}

/// The member's cart and its fresh quote, or why it cannot be priced.
public struct CartBody: Encodable, Sendable {
    public var lines: [LineBody]
    public var quote: QuoteBody?
    public var problem: String?

    init(_ cart: CartView) {
        lines = cart.lines.map(LineBody.init)
        quote = cart.quote.map(QuoteBody.init)
        problem = cart.problem
    }
}

public struct QuantityRequest: Decodable, Sendable { public var quantity: Int }

public struct AddressBody: Codable, Sendable {
    public var name: String
    public var phone: String
    public var line1: String
    public var city: String
    public var postcode: String

    init(_ address: Address) {
        (name, phone, line1, city, postcode) = (address.name, address.phone, address.line1, address.city, address.postcode)
    }

    public var address: Address { Address(name: name, phone: phone, line1: line1, city: city, postcode: postcode) }
}

/// `POST /orders`.
/// The body of `POST /orders`. Encodable too: a request's fingerprint, which an
/// `Idempotency-Key` retry must match, is taken from it as received.
public struct PlaceOrderRequest: Codable, Sendable {
    public var lines: [LineBody]?
    public var fromCart: Bool?
    public var address: AddressBody
    public var paymentMethod: String
    public var delivery: DeliveryOption
    public var couponCode: String?

    public var command: PlaceOrder {
        PlaceOrder(
            lines: lines?.map(\.stockLine), fromCart: fromCart, address: address.address, paymentMethod: paymentMethod,
            delivery: delivery, couponCode: couponCode)
    }
}

public struct OrderBody: Encodable, Sendable {
    public struct Cancellation: Encodable, Sendable { public var reason: String; public var detail: String }
    public struct TimelineEntry: Encodable, Sendable { public var at: Date; public var event: String; public var detail: String }

    public var id: String
    public var memberId: String
    public var status: String
    public var lines: [QuoteBody.Line]
    public var quote: QuoteBody
    public var address: AddressBody
    public var paymentMethod: String
    public var delivery: String
    public var submittedAt: Date
    public var paymentDeadline: Date?
    public var paymentId: String?
    public var cancellation: Cancellation?
    public var timeline: [TimelineEntry]

    init(_ order: Order) {
        id = order.id
        memberId = order.memberID
        status = order.status.rawValue
        quote = QuoteBody(order.quote)
        lines = quote.lines
        address = AddressBody(order.address)
        paymentMethod = order.paymentMethod
        delivery = order.delivery
        submittedAt = order.submittedAt
        paymentDeadline = order.paymentDeadline
        paymentId = order.paymentID
        cancellation = order.cancellation.map { Cancellation(reason: $0.reason.rawValue, detail: $0.detail) }
        timeline = order.timeline.map { TimelineEntry(at: $0.at, event: $0.event, detail: $0.detail) }
    }
}

public struct OrderSummaryBody: Encodable, Sendable {
    public var id: String
    public var status: String
    public var total: MoneyBody
    public var submittedAt: Date

    init(_ order: Order) {
        id = order.id
        status = order.status.rawValue
        total = MoneyBody(order.total)
        submittedAt = order.submittedAt
    }
}
