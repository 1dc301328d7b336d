import Foundation
import Herald
import MallInventoryEvents
import MallKernel
import MallOrderingEvents
import MallPaymentEvents
import MallPricingEvents

/// The order process: Ordering moves orders along as Inventory, Pricing and Payment report back, and when payment deadlines pass.
public enum OrderingReactions {
    /// Moves orders along as Inventory, Pricing and Payment report back, and when payment
    /// deadlines pass. `paymentWindow` is how long an order may wait for payment.
    public static func process(paymentWindow: Duration, retryPolicy: RetryPolicy = .default) -> Subscription {
        Subscription(
            name: "ordering.process",
            eventTypes: [
                StockReserved.eventType, StockReservationFailed.eventType, CouponRedeemed.eventType, CouponRejected.eventType,
                PaymentSucceeded.eventType, PaymentDeadlineReached.eventType,
            ],
            retryPolicy: retryPolicy,
            handler: .transactional { delivery, work in
                let now = delivery.envelope.occurredAt
                let event = try delivery.event()
                guard let orderID = orderID(of: event), let loaded = try await work.load(Order.self, id: orderID) else { return }
                var order = loaded
                var deadline: Date?
                switch event {
                case is StockReserved:
                    deadline = order.stockWasReserved(at: now, paymentWindow: paymentWindow)
                case let failed as StockReservationFailed:
                    try order.cancel(.outOfStock, detail: failed.reason, at: now)
                case is CouponRedeemed:
                    deadline = order.couponWasRedeemed(at: now, paymentWindow: paymentWindow)
                case let rejected as CouponRejected:
                    try order.cancel(.couponRejected, detail: rejected.reason, at: now)
                case let paid as PaymentSucceeded:
                    if order.paymentSucceeded(paymentID: paid.paymentID, amount: paid.amount, at: now), order.status == .paid {
                        work.cancelScheduledMessage(key: Order.deadlineKey(orderID))
                    }
                case is PaymentDeadlineReached:
                    order.paymentDeadlineReached(at: now)
                default:
                    return
                }
                if let deadline {
                    try work.schedule(PaymentDeadlineReached(orderID: orderID), to: order.stream, at: deadline, key: Order.deadlineKey(orderID))
                }
                // Some steps change state without an event (stock held, coupon not yet).
                guard order != loaded || !order.pendingEvents.isEmpty else { return }
                if order.status != loaded.status { try await OrderingService.closeIfDone(order, in: work) }
                try work.save(&order)
            })
    }


    private static func orderID(of event: any DomainEvent) -> String? {
        switch event {
        case let e as StockReserved: e.orderID
        case let e as StockReservationFailed: e.orderID
        case let e as CouponRedeemed: e.orderID
        case let e as CouponRejected: e.orderID
        case let e as PaymentSucceeded: e.orderID
        case let e as PaymentDeadlineReached: e.orderID
        default: nil
        }
    }
}
