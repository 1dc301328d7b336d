import Crypto
import Foundation
import MallKernel
import MallOrdering
import MallPricingEvents

/// The command to place an order: what the member buys (given lines, or the cart), where
/// it goes, how it is paid, and a coupon. Prices never come from the client.
public struct PlaceOrder: Hashable, Sendable {
    public var lines: [StockLine]?
    public var fromCart: Bool?
    public var address: Address
    public var paymentMethod: String
    public var delivery: DeliveryOption
    public var couponCode: String?

    public init(
        lines: [StockLine]?, fromCart: Bool? = nil, address: Address, paymentMethod: String, delivery: DeliveryOption = .standard,
        couponCode: String? = nil
    ) {
        self.lines = lines
        self.fromCart = fromCart
        self.address = address
        self.paymentMethod = paymentMethod
        self.delivery = delivery
        self.couponCode = couponCode
    }

    /// Ordering's request: which lines (given, or the cart's), checked for a clear choice.
    func orderRequest() throws -> OrderRequest {
        let lines: OrderRequest.Lines
        switch (self.lines, fromCart ?? false) {
        case (let given?, false): lines = .given(given)
        case (nil, true): lines = .cart
        case (_?, true): throw InvalidInput(field: "lines", "give lines or fromCart, not both")
        case (nil, false): throw InvalidInput(field: "lines", "give lines, or fromCart: true")
        }
        return OrderRequest(lines: lines, address: address, paymentMethod: paymentMethod, delivery: delivery, couponCode: couponCode)
    }
}

/// An `Idempotency-Key` and a fingerprint of the request it came with, as the caller
/// received it: a retry is the same request sent again, whatever the shop's own types
/// call its fields.
public struct IdempotentRequest: Sendable, Hashable {
    public var key: String
    /// SHA-256 of the request's JSON with its keys sorted (hex).
    public var fingerprint: String

    /// - Parameter request: the request as received (for HTTP, its wire type); its JSON
    ///   with sorted keys is what a retry must match.
    public init(key: String, request: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data = (try? encoder.encode(request)) ?? Data()
        self.key = key
        fingerprint = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}

extension Mall {
    /// Places an order for the member: one step of Ordering's
    /// (``OrderingService/place(_:memberID:idempotency:quoting:cart:)``), which checks the
    /// idempotency key, the limits and the quote once, in the unit of work that stores the
    /// order. Pricing and the cart reach it through the ports Ordering defines
    /// (``OrderingPorts``).
    ///
    /// - Returns: the order; whether this call created it (`false`: a retry of an earlier
    ///   request with the same key, answered with the order as it was created); and whether
    ///   it waits for its coupon to be taken (the coupons-deferred switch).
    public func placeOrder(memberID: String, _ command: PlaceOrder, idempotency: IdempotentRequest? = nil) async throws -> (
        order: OrderBody, created: Bool, waitsForCoupon: Bool
    ) {
        let key = try idempotency.map { try IdempotencyKey(key: $0.key, fingerprint: $0.fingerprint) }
        let (order, created) = try await ordering.place(
            try command.orderRequest(), memberID: memberID, idempotency: key, quoting: OrderingPorts.Quoting(pricing: pricing),
            cart: OrderingPorts.Cart(carts: carts))
        return (OrderBody(order), created, !order.couponSettled)
    }
}
