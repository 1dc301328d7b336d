import Foundation
import MallPayment

/// Payments: the gateway's signed callbacks, and reading a payment.
extension Mall {
    /// Applies a callback of the payment gateway, checking its signature; a repeat is
    /// recognised and changes nothing.
    /// - Returns: the payment as it stands, and whether the callback repeated one applied
    ///   before (and recorded nothing).
    /// - Throws: `PaymentProblem` for a callback refused (signature, age, amount, payment).
    @discardableResult
    public func paymentCallback(_ report: GatewayReport, signature: String) async throws -> CallbackResult {
        let settled = try await payments.callback(report, signature: signature)
        let payment = settled.payment
        return CallbackResult(paymentId: payment.id, orderId: payment.orderID, status: payment.status.rawValue, duplicate: settled.duplicate)
    }

    /// A payment, as stored.
    public func payment(id: String) async throws -> Payment { try await payments.payment(id: id) }

    /// A callback for `payment` signed as the gateway signs them (for a fake gateway and drills).
    public func signedCallback(for payment: Payment, outcome: GatewayOutcome, at date: Date? = nil) async throws -> (
        report: GatewayReport, signature: String
    ) {
        try await payments.signedCallback(for: payment, outcome: outcome, at: date)
    }

    /// Makes sure a gateway secret exists; returns one generated now (to print once).
    public func establishGatewaySecret() async throws -> String? { try await payments.establishGatewaySecret() }

    /// The secret the gateway signs callbacks with.
    public func gatewaySecret() async throws -> String { try await payments.gatewaySecret() }
}
