import AsyncHTTPClient
import Foundation
import Herald
import Logging
import MallKernel
import MallPayment
import NIOCore
import NIOPosix
import Resilience
import Synchronization

/// The payment gateway over HTTP, behind a timeout, a circuit breaker and a bulkhead.
///
/// - Each call gives up after ``Settings/timeout``.
/// - The breaker counts timeouts, connection failures and 5xx answers (a 4xx, the gateway
///   refusing a wrong request, is ours and counts as neither); while it is open calls fail
///   at once, saying when to try again.
/// - The bulkhead lets ``Settings/maxConcurrent`` calls run at once and
///   ``Settings/maxWaiting`` wait; more fail at once.
///
/// A call the gateway cannot have acted on (breaker open, bulkhead full, no connection, a
/// 503) throws ``GatewayUnavailable``; a call sent without an answer (timeout, a cut
/// connection, another 5xx) throws ``GatewayInDoubt``: money may have been taken. Starting
/// a payment answers the first 503 (nothing charged) and the second 202 (outcome pending);
/// a subscription (refunds) pauses on either without counting an attempt, so an outage
/// never turns refunds into dead letters. A refusal throws ``GatewayRefused``, a dead letter at once.
public final class HTTPPaymentGateway: PaymentGateway {
    public struct Settings: Sendable, Hashable {
        public var timeout: Duration = .seconds(2)
        public var breaker: CircuitBreakerPolicy
        public var maxConcurrent = 64
        public var maxWaiting = 256
        public var maxWait: Duration = .seconds(1)

        public init(timeout: Duration = .seconds(2)) {
            self.timeout = timeout
            breaker = CircuitBreakerPolicy()
            breaker.window = .duration(.seconds(10))
            breaker.minimumCalls = 10
            breaker.failureRateThreshold = 0.5
            breaker.slowCallDuration = .seconds(1)
            breaker.slowCallRateThreshold = 0.8
            breaker.waitInOpen = .seconds(5)
            breaker.halfOpenProbes = 3
        }
    }

    public let baseURL: String
    /// Sent with every call as `Authorization: Bearer …`: how the gateway knows the merchant.
    let apiKey: String?
    private let clock: any HeraldClock
    private let logger: Logger
    /// The settings in force and the breaker and bulkhead built from them (``apply(_:)``
    /// replaces all three; calls under way finish with the ones they started with).
    private let protection: Mutex<(settings: Settings, breaker: CircuitBreaker, bulkhead: Bulkhead)>

    /// - Parameter apiKey: the merchant's key at the gateway, sent with every call.
    /// - Throws: ``ConfigurationError`` for invalid settings.
    public init(
        baseURL: String, apiKey: String?, settings: Settings = Settings(), clock: any HeraldClock = SystemClock(),
        logger: Logger = Logger(label: "gateway-client")
    ) throws {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.clock = clock
        self.logger = logger
        protection = Mutex(try Self.protection(settings, clock: clock, logger: logger))
    }

    public var settings: Settings { protection.withLock { $0.settings } }
    public var breaker: CircuitBreaker { protection.withLock { $0.breaker } }

    /// Puts new settings in force (the governance rules changed). Unchanged settings keep
    /// the breaker's state; changed ones start a fresh breaker and bulkhead.
    ///
    /// - Throws: ``ConfigurationError``; the settings in force stay.
    public func apply(_ settings: Settings) throws {
        guard settings != self.settings else { return }
        let fresh = try Self.protection(settings, clock: clock, logger: logger)
        protection.withLock { $0 = fresh }
        logger.info("payment gateway settings in force", metadata: ["settings": "\(settings)"])
    }

    private static func protection(
        _ settings: Settings, clock: any HeraldClock, logger: Logger
    ) throws -> (settings: Settings, breaker: CircuitBreaker, bulkhead: Bulkhead) {
        let breaker = try CircuitBreaker(name: "payment-gateway", policy: settings.breaker, clock: clock, logger: logger) { error in
            !(error is GatewayRefused)
        }
        let bulkhead = try Bulkhead(
            name: "payment-gateway", policy: BulkheadPolicy(maxConcurrent: settings.maxConcurrent, maxWaiting: settings.maxWaiting, maxWait: settings.maxWait),
            clock: clock)
        return (settings, breaker, bulkhead)
    }

    public func createIntent(paymentID: String, amount: Money) async throws {
        try await call("/v1/intents", GatewayWire.Charge(paymentId: paymentID, amount: amount))
    }

    public func refund(paymentID: String, amount: Money) async throws {
        try await call("/v1/refunds", GatewayWire.Charge(paymentId: paymentID, amount: amount))
    }

    /// One call behind the bulkhead, the breaker and the timeout. What fails is sorted by
    /// what it says about the gateway having acted: refused before sending (breaker open,
    /// bulkhead full, no connection) or answered 503 is ``GatewayUnavailable``, nothing
    /// done; sent without an answer (timed out, cut off, a 5xx other than 503) is
    /// ``GatewayInDoubt``; a 4xx is ``GatewayRefused``.
    private func call(_ path: String, _ body: GatewayWire.Charge) async throws {
        let (settings, breaker, bulkhead) = protection.withLock { $0 }
        let url = baseURL + path, timeout = settings.timeout, apiKey = apiKey
        do {
            try await bulkhead.run {
                try await breaker.run {
                    // HTTP's own deadline first (it tells a connection never made from an
                    // answer never given); this one is the backstop.
                    try await withTimeout(timeout + .milliseconds(100), clock: clock) {
                        try await Self.post(body, to: url, bearer: apiKey, timeout: timeout)
                    }
                }
            }
        } catch let open as CircuitOpen {
            throw GatewayUnavailable(reason: open.description, retryAfter: open.retryAfter)
        } catch let full as BulkheadFull {
            throw GatewayUnavailable(reason: full.description, retryAfter: .seconds(1))
        } catch let timedOut as TimedOut {
            throw GatewayInDoubt(reason: timedOut.description)
        } catch let refused as GatewayRefused {
            throw refused
        } catch let unavailable as GatewayUnavailable {
            throw unavailable
        } catch let doubt as GatewayInDoubt {
            throw doubt
        } catch is CancellationError {
            throw CancellationError()
        } catch where Self.neverConnected(error) {
            throw GatewayUnavailable(reason: "no connection to the gateway: \(error)")
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw GatewayInDoubt(reason: "no answer within \(timeout)")
        } catch {
            throw GatewayInDoubt(reason: "\(error)")
        }
    }

    /// Whether `error` says the request never left: no connection was made.
    static func neverConnected(_ error: any Error) -> Bool {
        switch error {
        case let error as HTTPClientError: return error == .connectTimeout
        case let error as ChannelError:
            if case .connectTimeout = error { return true }
            return false
        case is NIOConnectionError: return true
        case let error as IOError: return [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH].contains(error.errnoCode)
        default: return false
        }
    }

    /// One call; HTTP's deadline is `timeout`.
    private static func post(_ body: GatewayWire.Charge, to url: String, bearer: String?, timeout: Duration) async throws {
        let (status, answer) = try await HTTPClient.json(.POST, url, body, bearer: bearer, timeout: TimeAmount(timeout))
        switch status {
        case 200..<300: return
        case 400..<500: throw GatewayRefused(status: Int(status), message: String(buffer: answer))
        // 503: the gateway says it is down and did nothing; any other 5xx says nothing of what it did.
        case 503: throw GatewayUnavailable(reason: "HTTP 503: \(String(buffer: answer).prefix(200))")
        default: throw GatewayInDoubt(reason: "HTTP \(status): \(String(buffer: answer).prefix(200))")
        }
    }
}

/// The gateway refused the request itself (4xx): asking again will not help.
public struct GatewayRefused: PermanentFailure, Sendable, Hashable, CustomStringConvertible {
    public var status: Int
    public var message: String
    public var description: String { "the payment gateway refused the request (HTTP \(status)): \(message)" }
}
