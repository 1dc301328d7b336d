import Foundation
import MallKernel
import MallPayment

/// The answer to starting a payment. `status` is the payment's (`pending` until the
/// gateway's callback); `detail` says why a 202's outcome is not known yet.
public struct PaymentStarted: Encodable, Sendable {
    public var paymentId: String
    public var amount: MoneyBody
    public var status: String
    public var detail: String?

    public init(paymentId: String, amount: MoneyBody, status: String, detail: String? = nil) {
        self.paymentId = paymentId
        self.amount = amount
        self.status = status
        self.detail = detail
    }
}

/// The answer to a callback. `duplicate`: it repeated one applied before and recorded nothing.
public struct CallbackResult: Encodable, Sendable {
    public var paymentId: String
    public var orderId: String
    public var status: String
    public var duplicate: Bool

    public init(paymentId: String, orderId: String, status: String, duplicate: Bool) {
        self.paymentId = paymentId
        self.orderId = orderId
        self.status = status
        self.duplicate = duplicate
    }
}

/// The body of `POST /payment-gateway/callbacks`: the gateway's signed report, where
/// `signature` is hex HMAC-SHA256 over
/// `"<timestamp>.<paymentId>.<outcome>.<amount.minorUnits>.<amount.currency>"`.
public struct GatewayCallback: Codable, Sendable {
    var paymentId: String
    var outcome: String
    var amount: MoneyBody
    /// Unix seconds.
    var timestamp: Int64
    public var signature: String

    init(_ report: GatewayReport, signature: String) {
        paymentId = report.paymentID
        outcome = report.outcome.rawValue
        amount = MoneyBody(report.amount)
        timestamp = report.timestamp
        self.signature = signature
    }

    /// Checks the outcome is one there is (a callback that names another is malformed, not
    /// refused).
    public func requireKnownOutcome() throws { _ = try report() }

    /// The gateway's report, checked for an outcome there is.
    func report() throws -> GatewayReport {
        guard let outcome = GatewayOutcome(rawValue: outcome) else { throw InvalidInput(field: "outcome", "one of succeeded, failed") }
        return GatewayReport(paymentID: paymentId, outcome: outcome, amount: amount.money, timestamp: timestamp)
    }
}
