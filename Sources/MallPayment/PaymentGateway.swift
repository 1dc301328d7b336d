import Foundation
import Herald
import MallKernel

/// The payment gateway as Payment sees it: the outside service that collects and refunds
/// money. It answers these calls at once; what happened to a payment it reports later, in a
/// signed callback (``PaymentService/callback(_:signature:)``).
///
/// Both calls are idempotent by payment id: calling again after a timeout or a crash never
/// charges or refunds twice.
public protocol PaymentGateway: Sendable {
    /// Asks the gateway to collect `amount` for the payment.
    func createIntent(paymentID: String, amount: Money) async throws
    /// Refunds the payment's `amount` in full.
    func refund(paymentID: String, amount: Money) async throws
}

/// The gateway did not take the call: down, slow, failing, or the breaker in front of it is
/// open. Nothing was charged or refunded by this call; asking again later is safe. A
/// request answers 503 with `Retry-After`; a subscription pauses on it without counting an
/// attempt (it is a ``DependencyUnavailable``): an outage is not the handler's fault.
public struct GatewayUnavailable: MallProblem, DependencyUnavailable, Hashable {
    /// Why, e.g. `"timed out after 2 s"` or `"circuit breaker payment-gateway is open"`.
    public var reason: String
    /// When asking again may get through, when known.
    public var retryAfter: Duration?

    public init(reason: String, retryAfter: Duration? = nil) {
        self.reason = reason
        self.retryAfter = retryAfter
    }

    public var kind: ProblemKind { .dependencyUnavailable }
    /// The breaker's remaining wait when known, else a second.
    public var retryAfterSeconds: Int64? { TooManyRequests.seconds(retryAfter ?? .seconds(1)) }
    public var description: String { "the payment gateway is unavailable (\(reason)); nothing was charged, try again shortly" }
}

/// The call was sent, or may have been, and no answer came back: a timeout, a connection
/// lost midway, a server error (5xx other than 503). Whether the gateway acted is unknown:
/// money may have been taken. Never report it as "nothing charged". Asking again with the
/// same payment id is safe (the gateway is idempotent by it), and the gateway's callback
/// settles the payment either way. A subscription pauses on it, as on ``GatewayUnavailable``.
public struct GatewayInDoubt: MallProblem, DependencyUnavailable, Hashable {
    /// Why, e.g. `"no answer within 2 s"`.
    public var reason: String

    public init(reason: String) { self.reason = reason }

    public var retryAfter: Duration? { nil }
    public var kind: ProblemKind { .dependencyUnavailable }
    public var retryAfterSeconds: Int64? { 5 }
    public var description: String {
        "the payment gateway did not answer (\(reason)); whether it took the payment is not known yet: its callback will tell, and asking again is safe"
    }
}
