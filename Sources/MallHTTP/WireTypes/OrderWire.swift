import Foundation
import MallApplication
import MallOrdering
import MallPricing
import MallPricingEvents

/// A price: lines with their discounts, the freight and the total (a cart's quote, or
/// the price an order was placed at).
struct QuoteBody: Encodable {
    struct Adjustment: Encodable {
        var rule: String
        var kind: String
        var amount: MoneyBody
    }

    struct Line: Encodable {
        var sku: String
        var title: String
        var quantity: Int
        var unitListPrice: MoneyBody
        var listAmount: MoneyBody
        var adjustments: [Adjustment]
        var netAmount: MoneyBody
    }

    var currency: String
    var lines: [Line]
    var discounts: [Adjustment]
    var listTotal: MoneyBody
    var discountTotal: MoneyBody
    var goodsTotal: MoneyBody
    var freight: MoneyBody
    var freightRule: String
    var total: MoneyBody
    var couponCode: String?

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
struct CartBody: Encodable {
    var lines: [LineBody]
    var quote: QuoteBody?
    var problem: String?

    init(_ cart: CartView) {
        lines = cart.lines.map(LineBody.init)
        quote = cart.quote.map(QuoteBody.init)
        problem = cart.problem
    }
}

struct QuantityRequest: Decodable { var quantity: Int }

struct AddressBody: Codable {
    var name: String
    var phone: String
    var line1: String
    var city: String
    var postcode: String

    init(_ address: Address) {
        (name, phone, line1, city, postcode) = (address.name, address.phone, address.line1, address.city, address.postcode)
    }

    var address: Address { Address(name: name, phone: phone, line1: line1, city: city, postcode: postcode) }
}

/// `POST /orders`.
/// The body of `POST /orders`. Encodable too: a request's fingerprint, which an
/// `Idempotency-Key` retry must match, is taken from it as received.
struct PlaceOrderRequest: Codable {
    var lines: [LineBody]?
    var fromCart: Bool?
    var address: AddressBody
    var paymentMethod: String
    var delivery: DeliveryOption
    var couponCode: String?

    var command: PlaceOrder {
        PlaceOrder(
            lines: lines?.map(\.stockLine), fromCart: fromCart, address: address.address, paymentMethod: paymentMethod,
            delivery: delivery, couponCode: couponCode)
    }
}

struct OrderBody: Encodable {
    struct Cancellation: Encodable { var reason: String; var detail: String }
    struct TimelineEntry: Encodable { var at: Date; var event: String; var detail: String }

    var id: String
    var status: String
    var lines: [QuoteBody.Line]
    var quote: QuoteBody
    var address: AddressBody
    var paymentMethod: String
    var delivery: String
    var submittedAt: Date
    var paymentDeadline: Date?
    var paymentId: String?
    var cancellation: Cancellation?
    var timeline: [TimelineEntry]

    init(_ order: Order) {
        id = order.id
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

struct OrderSummaryBody: Encodable {
    var id: String
    var status: String
    var total: MoneyBody
    var submittedAt: Date

    init(_ order: Order) {
        id = order.id
        status = order.status.rawValue
        total = MoneyBody(order.total)
        submittedAt = order.submittedAt
    }
}
