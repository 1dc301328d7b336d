import Herald
import MallMemberEvents
import MallOrderingEvents

/// What Pricing does when other contexts report: member levels for member prices, coupons
/// redeemed for submitted orders and given back by cancelled ones.
public enum PricingReactions {
    /// Keeps each member's level for member prices.
    public static func members(retryPolicy: RetryPolicy = .default) -> Subscription {
        Subscription(
            name: "pricing.members", eventTypes: [MemberRegistered.eventType, MemberLevelChanged.eventType], retryPolicy: retryPolicy,
            handler: .transactional { delivery, work in
                let memberID: String, level: MemberLevel
                switch try delivery.event() {
                case let registered as MemberRegistered: (memberID, level) = (registered.memberID, registered.level)
                case let changed as MemberLevelChanged: (memberID, level) = (changed.memberID, changed.to)
                default: return
                }
                let existing = try await work.load(PricingMember.self, id: memberID)
                var member = existing ?? PricingMember(id: memberID, level: level)
                member.level = level
                try work.save(&member)
            })
    }

    /// The name of ``coupons(retryPolicy:deferred:)``'s subscription.
    public static let couponsSubscription = "pricing.coupons"

    /// Redeems an order's coupon when it is submitted (or records why not), and gives it
    /// back when the order is cancelled.
    ///
    /// While `deferred()` says so (the `coupons-deferred` degradation switch) the
    /// subscription pauses at the first coupon it would touch, counting no attempt
    /// (``CouponsDeferred``): orders with a coupon wait as submitted, and redemptions and
    /// returns happen in their order once it is off. Orders without one are not held up.
    public static func coupons(retryPolicy: RetryPolicy = .default, deferred: @escaping @Sendable () -> Bool = { false }) -> Subscription {
        Subscription(
            name: couponsSubscription, eventTypes: [OrderSubmitted.eventType, OrderCancelled.eventType], retryPolicy: retryPolicy,
            handler: .transactional { delivery, work in
                switch try delivery.event() {
                case let submitted as OrderSubmitted:
                    guard let code = submitted.couponCode else { return }
                    if deferred() { throw CouponsDeferred() }
                    try await PricingService.redeem(code: code, memberID: submitted.memberID, orderID: submitted.orderID, in: work)
                case let cancelled as OrderCancelled:
                    if deferred() { throw CouponsDeferred() }
                    try await PricingService.giveBack(memberID: cancelled.memberID, orderID: cancelled.orderID, in: work)
                default:
                    return
                }
            })
    }
}

/// The `coupons-deferred` switch is on: the coupon subscription waits, without counting an
/// attempt, and looks again after ``retryAfter``.
public struct CouponsDeferred: DependencyUnavailable, Hashable, CustomStringConvertible {
    public init() {}
    public var retryAfter: Duration? { .seconds(1) }
    public var description: String { "coupon redemption is deferred (the coupons-deferred switch is on)" }
}
