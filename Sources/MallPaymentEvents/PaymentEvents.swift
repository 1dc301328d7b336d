import Herald
import MallKernel

/// A payment for an order was started with the gateway.
public struct PaymentRequested: DomainEvent {
    public static let eventType = "PaymentRequested"
    public var paymentID: String
    public var orderID: String
    public var memberID: String
    public var amount: Money

    public init(paymentID: String, orderID: String, memberID: String, amount: Money) {
        self.paymentID = paymentID
        self.orderID = orderID
        self.memberID = memberID
        self.amount = amount
    }
}

/// The gateway confirmed the payment.
public struct PaymentSucceeded: DomainEvent {
    public static let eventType = "PaymentSucceeded"
    public var paymentID: String
    public var orderID: String
    public var amount: Money

    public init(paymentID: String, orderID: String, amount: Money) {
        self.paymentID = paymentID
        self.orderID = orderID
        self.amount = amount
    }
}

/// The gateway declined the payment.
public struct PaymentFailed: DomainEvent {
    public static let eventType = "PaymentFailed"
    public var paymentID: String
    public var orderID: String
    public var reason: String

    public init(paymentID: String, orderID: String, reason: String) {
        self.paymentID = paymentID
        self.orderID = orderID
        self.reason = reason
    }
}

/// Money taken for an order that will not be fulfilled must go back.
public struct RefundRequested: DomainEvent {
    public static let eventType = "RefundRequested"
    public var paymentID: String
    public var orderID: String
    public var amount: Money
    public var reason: String

    public init(paymentID: String, orderID: String, amount: Money, reason: String) {
        self.paymentID = paymentID
        self.orderID = orderID
        self.amount = amount
        self.reason = reason
    }
}

/// The gateway returned the money.
public struct RefundCompleted: DomainEvent {
    public static let eventType = "RefundCompleted"
    public var paymentID: String
    public var orderID: String
    public var amount: Money

    public init(paymentID: String, orderID: String, amount: Money) {
        self.paymentID = paymentID
        self.orderID = orderID
        self.amount = amount
    }
}

/// The Payment context's published language: the events other contexts may hear, registered under
/// their stable names by the application.
public enum PaymentEvents {
    public static let published: [any DomainEvent.Type] = [
        PaymentRequested.self, PaymentSucceeded.self, PaymentFailed.self, RefundRequested.self, RefundCompleted.self,
    ]
}
