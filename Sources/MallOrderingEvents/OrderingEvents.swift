import Foundation
import Herald
import MallKernel

/// Why an order was cancelled.
public enum CancellationReason: String, Codable, Hashable, Sendable {
    /// The customer cancelled before paying.
    case customer
    /// The payment deadline passed unpaid.
    case paymentDeadline
    /// Some line could not be reserved.
    case outOfStock
    /// The coupon could not be redeemed.
    case couponRejected
}

/// An order was accepted, priced by the server; it now waits for stock and coupon.
public struct OrderSubmitted: DomainEvent {
    public static let eventType = "OrderSubmitted"
    public var orderID: String
    public var memberID: String
    public var lines: [StockLine]
    public var couponCode: String?
    public var total: Money
    /// Whether the lines came from the member's cart (which then empties).
    public var fromCart: Bool

    public init(orderID: String, memberID: String, lines: [StockLine], couponCode: String?, total: Money, fromCart: Bool) {
        self.orderID = orderID
        self.memberID = memberID
        self.lines = lines
        self.couponCode = couponCode
        self.total = total
        self.fromCart = fromCart
    }
}

/// Stock (and coupon) are held; the order must be paid before `deadline`.
public struct OrderAwaitingPayment: DomainEvent {
    public static let eventType = "OrderAwaitingPayment"
    public var orderID: String
    public var memberID: String
    public var amount: Money
    public var deadline: Date

    public init(orderID: String, memberID: String, amount: Money, deadline: Date) {
        self.orderID = orderID
        self.memberID = memberID
        self.amount = amount
        self.deadline = deadline
    }
}

/// Scheduled when an order starts awaiting payment, delivered at the deadline; cancelled
/// when the order is paid. The order ignores it unless still unpaid.
public struct PaymentDeadlineReached: DomainEvent {
    public static let eventType = "PaymentDeadlineReached"
    public var orderID: String

    public init(orderID: String) { self.orderID = orderID }
}

/// The order is paid; it can no longer be cancelled.
public struct OrderPaid: DomainEvent {
    public static let eventType = "OrderPaid"
    public var orderID: String
    public var paymentID: String
    public var amount: Money

    public init(orderID: String, paymentID: String, amount: Money) {
        self.orderID = orderID
        self.paymentID = paymentID
        self.amount = amount
    }
}

/// A payment arrived for an order that can no longer take it (cancelled, or already paid
/// by another payment): the money must be refunded.
public struct OrderPaymentRejected: DomainEvent {
    public static let eventType = "OrderPaymentRejected"
    public var orderID: String
    public var paymentID: String
    public var amount: Money
    public var reason: String

    public init(orderID: String, paymentID: String, amount: Money, reason: String) {
        self.orderID = orderID
        self.paymentID = paymentID
        self.amount = amount
        self.reason = reason
    }
}

/// The order left the warehouse.
public struct OrderShipped: DomainEvent {
    public static let eventType = "OrderShipped"
    public var orderID: String
    public var lines: [StockLine]

    public init(orderID: String, lines: [StockLine]) {
        self.orderID = orderID
        self.lines = lines
    }
}

/// The customer confirmed receipt (or the confirmation period passed).
public struct OrderCompleted: DomainEvent {
    public static let eventType = "OrderCompleted"
    public var orderID: String

    public init(orderID: String) { self.orderID = orderID }
}

/// The order will not be fulfilled; its stock and coupon go back.
public struct OrderCancelled: DomainEvent {
    public static let eventType = "OrderCancelled"
    public var orderID: String
    public var memberID: String
    public var reason: CancellationReason
    public var detail: String

    public init(orderID: String, memberID: String, reason: CancellationReason, detail: String) {
        self.orderID = orderID
        self.memberID = memberID
        self.reason = reason
        self.detail = detail
    }
}

/// The Ordering context's published language: the events other contexts may hear, registered under
/// their stable names by the application.
public enum OrderingEvents {
    public static let published: [any DomainEvent.Type] = [
        OrderSubmitted.self, OrderAwaitingPayment.self, PaymentDeadlineReached.self, OrderPaid.self, OrderPaymentRejected.self, OrderShipped.self, OrderCompleted.self, OrderCancelled.self,
    ]
}
