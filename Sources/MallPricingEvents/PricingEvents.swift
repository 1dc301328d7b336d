import Herald
import MallKernel

/// A coupon of a campaign was given to a member.
public struct CouponIssued: DomainEvent {
    public static let eventType = "CouponIssued"
    public var code: String
    public var campaignID: String
    public var memberID: String

    public init(code: String, campaignID: String, memberID: String) {
        self.code = code
        self.campaignID = campaignID
        self.memberID = memberID
    }
}

/// A member's coupon was used by an order; it cannot be used again unless returned.
public struct CouponRedeemed: DomainEvent {
    public static let eventType = "CouponRedeemed"
    public var code: String
    public var memberID: String
    public var orderID: String

    public init(code: String, memberID: String, orderID: String) {
        self.code = code
        self.memberID = memberID
        self.orderID = orderID
    }
}

/// A coupon could not be redeemed for an order (already used, expired, not the member's).
public struct CouponRejected: DomainEvent {
    public static let eventType = "CouponRejected"
    public var code: String
    public var memberID: String
    public var orderID: String
    public var reason: String

    public init(code: String, memberID: String, orderID: String, reason: String) {
        self.code = code
        self.memberID = memberID
        self.orderID = orderID
        self.reason = reason
    }
}

/// A redeemed coupon was given back because its order was cancelled.
public struct CouponReturned: DomainEvent {
    public static let eventType = "CouponReturned"
    public var code: String
    public var memberID: String
    public var orderID: String

    public init(code: String, memberID: String, orderID: String) {
        self.code = code
        self.memberID = memberID
        self.orderID = orderID
    }
}

/// The Pricing context's published language: the events other contexts may hear, registered under
/// their stable names by the application.
public enum PricingEvents {
    public static let published: [any DomainEvent.Type] = [
        CouponIssued.self, CouponRedeemed.self, CouponRejected.self, CouponReturned.self,
    ]
}
