import Crypto
import Foundation
import MallCart
import MallKernel
import MallOrdering
import MallPricing

/// The command to place an order: what the member buys (given lines, or the cart), where
/// it goes, how it is paid, and a coupon. Prices never come from the client.
public struct PlaceOrder: Codable, Hashable, Sendable {
    public var lines: [StockLine]?
    public var fromCart: Bool?
    public var address: Address
    public var paymentMethod: String
    public var delivery: DeliveryOption
    public var couponCode: String?

    public init(lines: [StockLine]?, fromCart: Bool? = nil, address: Address, paymentMethod: String, delivery: DeliveryOption = .standard, couponCode: String? = nil) {
        self.lines = lines
        self.fromCart = fromCart
        self.address = address
        self.paymentMethod = paymentMethod
        self.delivery = delivery
        self.couponCode = couponCode
    }

    /// Identifies the command's content, to tell a retry from a different request under the same key.
    var fingerprint: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = (try? encoder.encode(self)) ?? Data()
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}

/// Placing an order, the one use case that spans the cart, Pricing and Ordering: it owns
/// the idempotency check, the choice of lines, the limits, the server's quote and the
/// submission, in that order.
public struct OrderPlacement: Sendable {
    let carts: CartService
    let pricing: PricingService
    let ordering: OrderingService

    /// Places `command` for the member.
    ///
    /// With an idempotency key, a retried request returns the order the first one created
    /// (as it was then) and creates nothing; the same key with a different command is a
    /// conflict.
    /// - Returns: the order, and whether this call created it.
    public func place(_ command: PlaceOrder, memberID: String, idempotencyKey: String?) async throws -> (order: Order, created: Bool) {
        let idempotency = try idempotencyKey.map { try IdempotencyKey(key: $0, fingerprint: command.fingerprint) }
        if let idempotency, let existing = try await ordering.existingOrder(memberID: memberID, idempotency: idempotency) {
            return (existing, false)
        }
        let lines = try await lines(of: command, memberID: memberID)
        if lines.allSatisfy({ (1...Cart.maximumQuantity).contains($0.quantity) }) { try ordering.limits.check(lines) }
        let quote = try await pricing.quote(lines: lines, memberID: memberID, couponCode: command.couponCode, delivery: command.delivery)
        let details = OrderDetails(
            address: command.address, paymentMethod: command.paymentMethod, delivery: command.delivery.rawValue,
            fromCart: command.fromCart ?? false)
        return try await ordering.submit(memberID: memberID, pricing: OrderPricing(quote), details: details, idempotency: idempotency)
    }

    private func lines(of command: PlaceOrder, memberID: String) async throws -> [StockLine] {
        switch (command.lines, command.fromCart ?? false) {
        case (let given?, false):
            return given
        case (nil, true):
            let lines = try await carts.cart(memberID: memberID).lines
            guard !lines.isEmpty else { throw OrderProblem.cartEmpty }
            return lines
        case (_?, true):
            throw InvalidInput(field: "lines", "give lines or fromCart, not both")
        case (nil, false):
            throw InvalidInput(field: "lines", "give lines, or fromCart: true")
        }
    }
}

extension OrderPricing {
    /// Ordering's record of Pricing's quote: the same amounts, line by line.
    init(_ quote: PriceQuote) {
        func adjustment(_ adjustment: PriceQuote.Adjustment) -> Adjustment {
            Adjustment(rule: adjustment.rule, kind: adjustment.kind.rawValue, amount: adjustment.amount)
        }
        self.init(
            currency: quote.currency,
            lines: quote.lines.map { line in
                Line(
                    sku: line.sku, title: line.title, quantity: line.quantity, unitListPrice: line.unitListPrice,
                    listAmount: line.listAmount, adjustments: line.adjustments.map(adjustment), netAmount: line.netAmount)
            },
            discounts: quote.discounts.map(adjustment), listTotal: quote.listTotal, discountTotal: quote.discountTotal,
            goodsTotal: quote.goodsTotal, freight: quote.freight, freightRule: quote.freightRule, total: quote.total,
            couponCode: quote.couponCode)
    }
}
