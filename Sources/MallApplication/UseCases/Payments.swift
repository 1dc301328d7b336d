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
    public func paymentCallback(_ callback: GatewayCallback) async throws -> CallbackResult {
        let settled = try await payments.callback(try callback.report(), signature: callback.signature)
        let payment = settled.payment
        return CallbackResult(paymentId: payment.id, orderId: payment.orderID, status: payment.status.rawValue, duplicate: settled.duplicate)
    }

    /// The callback the gateway would send for the payment `paymentID`, signed as it signs
    /// them (for a fake gateway, drills and the demo).
    public func signedCallback(paymentID: String, outcome: GatewayOutcome, at date: Date? = nil) async throws -> GatewayCallback {
        let signed = try await payments.signedCallback(for: try await payments.payment(id: paymentID), outcome: outcome, at: date)
        return GatewayCallback(signed.report, signature: signed.signature)
    }

    /// Makes sure a gateway secret exists; returns one generated now (to print once).
    public func establishGatewaySecret() async throws -> String? { try await payments.establishGatewaySecret() }

    /// The secret the gateway signs callbacks with.
    public func gatewaySecret() async throws -> String { try await payments.gatewaySecret() }
}
