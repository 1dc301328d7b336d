import Crypto
import Foundation
import Herald
import MallEvents

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
    case badSignature
    case contradictingCallback(paymentID: String, status: Payment.Status)

    public var kind: ProblemKind {
        switch self {
        case .notFound: .notFound
        case .badSignature: .unauthenticated
        case .contradictingCallback: .conflict
        }
    }

    public var field: String? {
        switch self {
        case .notFound: "paymentId"
        case .badSignature: "signature"
        case .contradictingCallback: "outcome"
        }
    }

    public var description: String {
        switch self {
        case .notFound(let id): "no payment \(id)"
        case .badSignature: "the callback's signature does not match"
        case .contradictingCallback(let id, let status): "payment \(id) is already \(status.rawValue)"
        }
    }
}

/// The payment gateway's callback signature: hex HMAC-SHA256 of `"<paymentId>:<outcome>"`
/// under the shared secret.
public struct GatewaySignature: Sendable {
    let key: SymmetricKey

    public init(secret: String) { key = SymmetricKey(data: Data(secret.utf8)) }

    public func sign(paymentID: String, outcome: GatewayOutcome) -> String {
        HMAC<SHA256>.authenticationCode(for: Data("\(paymentID):\(outcome.rawValue)".utf8), using: key)
            .map { String(format: "%02x", $0) }.joined()
    }

    /// Checks in constant time (Crypto's comparison of authentication codes).
    public func isValid(_ signature: String, paymentID: String, outcome: GatewayOutcome) -> Bool {
        guard signature.count == 64, let bytes = Self.bytes(hex: signature) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(bytes, authenticating: Data("\(paymentID):\(outcome.rawValue)".utf8), using: key)
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
