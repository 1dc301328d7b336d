import Foundation
import MallApplication
import MallKernel
import MallPayment

/// The body of `POST /payment-gateway/callbacks`: the gateway's signed report, where
/// `signature` is hex HMAC-SHA256 over
/// `"<timestamp>.<paymentId>.<outcome>.<amount.minorUnits>.<amount.currency>"`.
public struct GatewayCallback: Codable, Sendable {
    var paymentId: String
    var outcome: String
    var amount: MoneyBody
    /// Unix seconds.
    var timestamp: Int64
    var signature: String

    /// The body as JSON, keys in the order above.
    public func json() throws -> String { String(decoding: try JSON.encoder.encode(self), as: UTF8.self) }

    public init(_ report: GatewayReport, signature: String) {
        paymentId = report.paymentID
        outcome = report.outcome.rawValue
        amount = MoneyBody(report.amount)
        timestamp = report.timestamp
        self.signature = signature
    }

    func report() throws -> GatewayReport {
        guard let outcome = GatewayOutcome(rawValue: outcome) else { throw InvalidInput(field: "outcome", "one of succeeded, failed") }
        return GatewayReport(paymentID: paymentId, outcome: outcome, amount: amount.money, timestamp: timestamp)
    }
}
