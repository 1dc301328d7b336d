import Crypto
import Foundation
import Herald
import MallKernel
import MallPaymentEvents

/// One payment attempt for an order, settled by the gateway's callback.
public struct Payment: AggregateRoot, Hashable {
    public static let streamType = "Payment"

    public enum Status: String, Codable, Hashable, Sendable {
        case pending, succeeded, failed, refundRequested, refunded
    }

    public let id: String
    public let orderID: String
    public let memberID: String
    public let amount: Money
    public private(set) var status: Status
    public var pendingEvents = PendingEvents()

    static func request(id: String, orderID: String, memberID: String, amount: Money) -> Payment {
        var payment = Payment(id: id, orderID: orderID, memberID: memberID, amount: amount, status: .pending)
        payment.record(PaymentRequested(paymentID: id, orderID: orderID, memberID: memberID, amount: amount))
        return payment
    }

    /// Applies the gateway's outcome once; a repeated callback with the same outcome changes
    /// nothing, a contradicting one is refused.
    mutating func settle(_ outcome: GatewayOutcome) throws {
        switch (status, outcome) {
        case (.pending, .succeeded):
            status = .succeeded
            record(PaymentSucceeded(paymentID: id, orderID: orderID, amount: amount))
        case (.pending, .failed):
            status = .failed
            record(PaymentFailed(paymentID: id, orderID: orderID, reason: "declined by the gateway"))
        case (.succeeded, .succeeded), (.refundRequested, .succeeded), (.refunded, .succeeded), (.failed, .failed):
            return
        default:
            throw PaymentProblem.contradictingCallback(paymentID: id, status: status)
        }
    }

    mutating func requestRefund(reason: String) {
        guard status == .succeeded else { return }
        status = .refundRequested
        record(RefundRequested(paymentID: id, orderID: orderID, amount: amount, reason: reason))
    }

    mutating func refundCompleted() {
        guard status == .refundRequested else { return }
        status = .refunded
        record(RefundCompleted(paymentID: id, orderID: orderID, amount: amount))
    }
}

public enum GatewayOutcome: String, Codable, Hashable, Sendable {
    case succeeded, failed
}

public enum PaymentProblem: MallProblem, Hashable {
    case notFound(String)
    /// The callback's signature does not match its fields under the install's secret.
    case badSignature
    /// The callback's timestamp is further than ``GatewaySignature/tolerance`` from the server's clock.
    case staleCallback(timestamp: Int64)
    /// The callback's amount or currency is not the payment's.
    case amountMismatch(paymentID: String)
    case contradictingCallback(paymentID: String, status: Payment.Status)

    public var kind: ProblemKind {
        switch self {
        case .notFound: .notFound
        case .badSignature, .staleCallback, .amountMismatch: .unauthenticated
        case .contradictingCallback: .conflict
        }
    }

    public var field: String? {
        switch self {
        case .notFound: "paymentId"
        case .badSignature: "signature"
        case .staleCallback: "timestamp"
        case .amountMismatch: "amount"
        case .contradictingCallback: "outcome"
        }
    }

    public var description: String {
        switch self {
        case .notFound(let id): "no payment \(id)"
        case .badSignature: "the callback's signature does not match"
        case .staleCallback(let timestamp):
            "the callback's timestamp \(timestamp) is more than \(Int(GatewaySignature.tolerance.components.seconds / 60)) minutes from the server's clock"
        case .amountMismatch(let id): "the callback's amount is not the amount of payment \(id)"
        case .contradictingCallback(let id, let status): "payment \(id) is already \(status.rawValue)"
        }
    }
}

/// What the payment gateway says happened to a payment: the fields its callback carries,
/// all of them covered by the signature.
public struct GatewayReport: Sendable, Hashable {
    public var paymentID: String
    public var outcome: GatewayOutcome
    public var amount: Money
    /// When the gateway signed it, in Unix seconds.
    public var timestamp: Int64

    public init(paymentID: String, outcome: GatewayOutcome, amount: Money, timestamp: Int64) {
        self.paymentID = paymentID
        self.outcome = outcome
        self.amount = amount
        self.timestamp = timestamp
    }

    /// The signed text: `"<timestamp>.<paymentId>.<outcome>.<amount minor units>.<currency>"`.
    public var signedText: String { "\(timestamp).\(paymentID).\(outcome.rawValue).\(amount.minorUnits).\(amount.currency)" }
}

/// The payment gateway's callback signature: hex HMAC-SHA256 of
/// ``GatewayReport/signedText`` under the install's secret (its UTF-8 bytes).
///
/// The signature covers the whole fact (payment, outcome, amount, currency) and the time,
/// so a signed "succeeded" cannot be moved to another payment or amount, and a recorded
/// callback cannot be replayed after ``tolerance``.
public struct GatewaySignature: Sendable {
    /// How far a callback's timestamp may be from the server's clock, either way.
    public static let tolerance: Duration = .seconds(5 * 60)

    let key: SymmetricKey

    public init(secret: String) { key = SymmetricKey(data: Data(secret.utf8)) }

    public func sign(_ report: GatewayReport) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(report.signedText.utf8), using: key).map { String(format: "%02x", $0) }.joined()
    }

    /// Checks in constant time (Crypto's comparison of authentication codes).
    public func isValid(_ signature: String, for report: GatewayReport) -> Bool {
        guard signature.utf8.count == 64, let bytes = Self.bytes(hex: signature) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(bytes, authenticating: Data(report.signedText.utf8), using: key)
    }

    /// Whether `timestamp` (Unix seconds) is within ``tolerance`` of `now`.
    public static func isFresh(_ timestamp: Int64, at now: Date) -> Bool {
        abs(Double(timestamp) - now.timeIntervalSince1970) <= Double(tolerance.components.seconds)
    }

    private static func bytes(hex: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            guard let h = Self.nibble(high), let l = Self.nibble(low) else { return nil }
            bytes.append(h << 4 | l)
        }
        return bytes
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
