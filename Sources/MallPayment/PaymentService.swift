import Foundation
import Herald
import MallEvents

/// The Payment context's use cases: starting payments, the gateway's callbacks, refunds.
public struct PaymentService: Sendable {
    let engine: HeraldEngine
    let signature: GatewaySignature

    public init(engine: HeraldEngine, gatewaySecret: String) {
        self.engine = engine
        self.signature = GatewaySignature(secret: gatewaySecret)
    }

    /// Starts a payment of `amount` for an order (the caller checked it awaits payment).
    public func request(orderID: String, memberID: String, amount: Money) async throws -> Payment {
        var generator = SystemRandomNumberGenerator()
        let id = "pay-" + String(UInt64.random(in: .min ... .max, using: &generator), radix: 36)
        return try await engine.perform { work in
            var payment = Payment.request(id: id, orderID: orderID, memberID: memberID, amount: amount)
            let result = payment
            try work.save(&payment)
            return result
        }
    }

    /// The gateway reports an outcome. Idempotent by payment id: a duplicate callback
    /// returns the same payment and records nothing.
    ///
    /// - Throws: ``PaymentProblem/badSignature`` (nothing recorded), ``PaymentProblem/notFound(_:)``.
    public func callback(paymentID: String, outcome: GatewayOutcome, signature provided: String) async throws -> Payment {
        guard signature.isValid(provided, paymentID: paymentID, outcome: outcome) else { throw PaymentProblem.badSignature }
        return try await engine.perform { work in
            guard var payment = try await work.load(Payment.self, id: paymentID) else { throw PaymentProblem.notFound(paymentID) }
            try payment.settle(outcome)
            let result = payment
            if !payment.pendingEvents.isEmpty { try work.save(&payment) }
            return result
        }
    }

    public func payment(id: String) async throws -> Payment {
        guard let payment = try await engine.unitOfWork().load(Payment.self, id: id) else { throw PaymentProblem.notFound(id) }
        return payment
    }

    /// What the simulated gateway signs; tests, the demo and load drivers use it.
    public func sign(paymentID: String, outcome: GatewayOutcome) -> String {
        signature.sign(paymentID: paymentID, outcome: outcome)
    }

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
