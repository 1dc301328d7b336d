import Foundation
import Herald
import MallKernel
import MallOrderingEvents

/// What Payment does when Ordering reports: money an order could not take is refunded.
public enum PaymentReactions {
    /// Refunds every payment an order rejected through the gateway, then records the refund
    /// requested and completed in one commit. The gateway refunds once per payment however
    /// often it is asked, so a retry after a failed commit or a crash refunds nothing twice.
    /// A gateway that is unavailable (``GatewayUnavailable``: down, slow, failing, its
    /// breaker open) pauses the subscription without counting an attempt; one that refuses
    /// the refund makes a dead letter at once.
    public static func refunds(gateway: any PaymentGateway, retryPolicy: RetryPolicy = .default) -> Subscription {
        Subscription(
            name: "payment.refunds", eventTypes: [OrderPaymentRejected.eventType], retryPolicy: retryPolicy,
            handler: .transactional { delivery, work in
                let rejected = try delivery.decode(OrderPaymentRejected.self)
                try await PaymentService.refund(paymentID: rejected.paymentID, reason: rejected.reason, gateway: gateway, in: work)
            })
    }
}
