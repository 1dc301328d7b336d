import Foundation
import Herald
import MallKernel
import MallOrderingEvents

/// The Payment context's use cases: starting payments, the gateway's callbacks, refunds.
public struct PaymentService: Sendable {
    let engine: HeraldEngine
    /// The configured gateway secret; `nil` uses the one stored in the database (see
    /// ``establishGatewaySecret()``).
    let configuredSecret: String?

    public init(engine: HeraldEngine, gatewaySecret: String?) {
        self.engine = engine
        self.configuredSecret = gatewaySecret
    }

    /// Makes sure a gateway secret exists: the configured one, or one generated now and
    /// stored, which every node then shares.
    ///
    /// - Returns: a newly generated secret (to print once), or `nil` when one was configured
    ///   or generated on an earlier start.
    public func establishGatewaySecret() async throws -> String? {
        if configuredSecret != nil { return nil }
        let secret = GatewaySecret.generate()
        do {
            return try await engine.perform(attempts: 1) { work in
                guard try await work.load(GatewaySecret.self, id: GatewaySecret.mainID) == nil else { return nil }
                var stored = GatewaySecret(secret: secret)
                try work.save(&stored)
                return secret
            }
        } catch is ConcurrencyConflict {
            return nil  // another node generated it at the same moment
        }
    }

    /// The secret callbacks are verified with: the configured one, else the stored one.
    ///
    /// - Throws: ``PaymentProblem/badSignature`` when there is none yet (nothing can be
    ///   verified before ``establishGatewaySecret()`` ran).
    public func gatewaySecret() async throws -> String {
        if let configuredSecret { return configuredSecret }
        guard let stored = try await engine.unitOfWork().load(GatewaySecret.self, id: GatewaySecret.mainID) else {
            throw PaymentProblem.badSignature
        }
        return stored.secret
    }

    /// Starts paying an order (the caller checked it awaits payment). One open payment per
    /// order: unless the last one failed, starting again returns it and creates nothing (a
    /// double click or a retried request never charges twice).
    ///
    /// - Returns: the payment, and whether this call created it.
    public func request(orderID: String, memberID: String, amount: Money) async throws -> (payment: Payment, created: Bool) {
        let id = "pay-" + String(engine.random.nextBits(), radix: 36)  // the engine's source: a simulation's seed repeats it
        return try await engine.perform { work in
            var attempts = try await work.load(OrderPayments.self, id: orderID) ?? OrderPayments(orderID: orderID)
            if let open = attempts.open, let payment = try await work.load(Payment.self, id: open), payment.status != .failed {
                return (payment, false)
            }
            var payment = Payment.request(id: id, orderID: orderID, memberID: memberID, amount: amount)
            attempts.open = id
            let result = payment
            try work.save(&payment)
            try work.save(&attempts)
            return (result, true)
        }
    }

    /// The gateway reports an outcome. Idempotent by payment id: a duplicate callback
    /// returns the same payment and records nothing.
    ///
    /// Checked before anything is read or written, in this order: the signature over every
    /// field (``PaymentProblem/badSignature``), the timestamp within
    /// ``GatewaySignature/tolerance`` of the server's clock (``PaymentProblem/staleCallback(timestamp:)``),
    /// then the amount and currency against the payment's (``PaymentProblem/amountMismatch(paymentID:)``).
    /// Each of these is a 401 and changes nothing.
    ///
    /// - Returns: the payment, and whether this callback repeated one already applied (a
    ///   duplicate: nothing recorded).
    /// - Throws: those, or ``PaymentProblem/notFound(_:)``.
    public func callback(_ report: GatewayReport, signature provided: String) async throws -> (payment: Payment, duplicate: Bool) {
        let signer = GatewaySignature(secret: try await gatewaySecret())
        guard signer.isValid(provided, for: report) else { throw PaymentProblem.badSignature }
        guard GatewaySignature.isFresh(report.timestamp, at: engine.clock.now()) else {
            throw PaymentProblem.staleCallback(timestamp: report.timestamp)
        }
        return try await engine.perform { work in
            guard var payment = try await work.load(Payment.self, id: report.paymentID) else { throw PaymentProblem.notFound(report.paymentID) }
            guard payment.amount == report.amount else { throw PaymentProblem.amountMismatch(paymentID: payment.id) }
            try payment.settle(report.outcome)
            let result = payment, duplicate = payment.pendingEvents.isEmpty
            if !duplicate { try work.save(&payment) }
            return (result, duplicate)
        }
    }

    /// Refunds a payment the shop took but must not keep, through the gateway, and records
    /// why (`RefundRequested` with `reason`, then `RefundCompleted`): what Payment does when
    /// an order rejects a payment, and what reconciliation does for money neither applied
    /// to its order nor refunded. The gateway refunds once per payment however often it is
    /// asked; a payment not succeeded (or already refunded) changes nothing.
    ///
    /// - Returns: whether this call refunded it.
    @discardableResult
    public func refund(paymentID: String, reason: String, gateway: any PaymentGateway) async throws -> Bool {
        try await engine.perform { work in try await Self.refund(paymentID: paymentID, reason: reason, gateway: gateway, in: work) }
    }

    @discardableResult
    static func refund(paymentID: String, reason: String, gateway: any PaymentGateway, in work: UnitOfWork) async throws -> Bool {
        guard var payment = try await work.load(Payment.self, id: paymentID),
            payment.status == .succeeded || payment.status == .refundRequested
        else { return false }
        try await gateway.refund(paymentID: payment.id, amount: payment.amount)
        payment.requestRefund(reason: reason)
        payment.refundCompleted()
        guard !payment.pendingEvents.isEmpty else { return false }
        try work.save(&payment)
        return true
    }

    public func payment(id: String) async throws -> Payment {
        guard let payment = try await engine.unitOfWork().load(Payment.self, id: id) else { throw PaymentProblem.notFound(id) }
        return payment
    }

    /// The callback body the gateway would send for `payment` now: what the demo, tests and
    /// `mall gateway sign` use in place of a real gateway.
    public func signedCallback(for payment: Payment, outcome: GatewayOutcome, at date: Date? = nil) async throws -> (report: GatewayReport, signature: String) {
        let timestamp = Int64((date ?? engine.clock.now()).timeIntervalSince1970)
        let report = GatewayReport(paymentID: payment.id, outcome: outcome, amount: payment.amount, timestamp: timestamp)
        return (report, GatewaySignature(secret: try await gatewaySecret()).sign(report))
    }

}

/// Which payment of an order is open: so that starting a payment twice (a double click, a
/// retried request) returns the one already started instead of a second charge.
struct OrderPayments: AggregateRoot {
    static let streamType = "OrderPayments"
    let id: String
    /// The latest payment started; a new one may start once it failed.
    var open: String?
    var pendingEvents = PendingEvents()

    init(orderID: String) { id = orderID }
}
