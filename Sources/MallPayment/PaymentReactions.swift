import Foundation
import Herald
import MallKernel
import MallOrderingEvents

/// What Payment does when Ordering reports: money an order could not take is refunded.
public enum PaymentReactions {
    /// Requests a refund for every payment an order rejected, and completes it through the
    /// (simulated, in-process) gateway in the same step.
    public static func refunds(retryPolicy: RetryPolicy = .default) -> Subscription {
        Subscription(
            name: "payment.refunds", eventTypes: [OrderPaymentRejected.eventType], retryPolicy: retryPolicy,
            handler: .transactional { delivery, work in
                let rejected = try delivery.decode(OrderPaymentRejected.self)
                guard var payment = try await work.load(Payment.self, id: rejected.paymentID) else { return }
                payment.requestRefund(reason: rejected.reason)
                payment.refundCompleted()
                guard !payment.pendingEvents.isEmpty else { return }
                try work.save(&payment)
            })
    }
}
