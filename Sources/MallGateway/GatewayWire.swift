import Foundation
import MallKernel
import MallPayment

/// The fake gateway's HTTP API, as both sides see it.
///
/// - `POST /v1/intents` `{paymentId, amount}`: collect `amount` for the payment (201; 200 when
///   it exists already; 409 for the same payment with another amount).
/// - `POST /v1/refunds` `{paymentId, amount}`: refund it in full (200, also when refunded already).
/// - `GET /v1/intents/{paymentId}`: what the gateway holds for a payment.
/// - `GET /v1/knobs`, `PUT /v1/knobs` (any subset of ``GatewayKnobs``): how it misbehaves.
/// - `GET /health`.
///
/// Callbacks go to the configured URL as Mall's `POST /payment-gateway/callbacks` expects them.
public enum GatewayWire {
    struct Charge: Codable, Sendable {
        var paymentId: String
        var amount: Money
    }

    /// What the gateway holds for one payment.
    public struct IntentState: Codable, Sendable, Equatable {
        public var paymentId: String
        public var amount: Money
        /// `pending` until the callback is decided, then `succeeded` or `failed`.
        public var status: String
        public var refunded: Bool
    }

    struct Callback: Codable, Sendable {
        var paymentId: String
        var outcome: String
        var amount: Money
        var timestamp: Int64
        var signature: String

        init(_ report: GatewayReport, signature: String) {
            paymentId = report.paymentID
            outcome = report.outcome.rawValue
            amount = report.amount
            timestamp = report.timestamp
            self.signature = signature
        }
    }

    struct Failure: Codable, Sendable {
        var error: String
    }
}
