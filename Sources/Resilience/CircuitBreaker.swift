import Foundation
import Herald
import Logging
import Synchronization

/// A call the breaker turned away without trying it. A subscription whose handler throws it
/// pauses until `retryAfter` without counting an attempt (``DependencyUnavailable``).
public struct CircuitOpen: DependencyUnavailable, Sendable, Hashable, CustomStringConvertible {
    /// The breaker's name, e.g. `"payment-gateway"`.
    public var breaker: String
    /// When asking again may get through.
    public var retryAfter: Duration?

    public init(breaker: String, retryAfter: Duration?) {
        self.breaker = breaker
        self.retryAfter = retryAfter
    }

    public var description: String { "circuit breaker \(breaker) is open: retry after \(retryAfter ?? .zero)" }
}

/// Protects the callers of a dependency from waiting on it while it is down or slow: after
/// enough failed or slow calls it fails calls at once with ``CircuitOpen``, and after a
/// wait lets a few probes through to see whether the dependency is back (see
/// ``CircuitBreakerMachine`` for the rules, ``CircuitBreakerPolicy`` for the settings).
///
/// ```swift
/// let breaker = try CircuitBreaker(name: "payment-gateway", policy: policy, clock: SystemClock(), logger: logger) { error in
///     !(error is InvalidPaymentRequest)  // a bad request is ours, not the gateway's fault
/// }
/// let intent = try await breaker.run { try await gateway.createIntent(order) }
/// ```
///
/// State changes are logged and published on ``transitions()``.
public final class CircuitBreaker: Sendable {
    public let name: String
    private let machine: Mutex<CircuitBreakerMachine>
    private let clock: any HeraldClock
    private let counts: @Sendable (any Error) -> Bool
    private let logger: Logger
    private let watchers = Mutex<[UUID: AsyncStream<CircuitBreakerMachine.Transition>.Continuation]>([:])

    /// - Parameter counts: whether an error counts as the dependency's failure (the rest
    ///   count as neither success nor failure); every error by default.
    /// - Throws: ``ConfigurationError`` for an invalid policy.
    public init(
        name: String, policy: CircuitBreakerPolicy, clock: any HeraldClock, logger: Logger = Logger(label: "resilience"),
        counts: @escaping @Sendable (any Error) -> Bool = { _ in true }
    ) throws {
        self.name = name
        machine = Mutex(try CircuitBreakerMachine(policy: policy))
        self.clock = clock
        self.counts = counts
        self.logger = logger
    }

    public var state: CircuitBreakerMachine.State { machine.withLock { $0.state } }
    public var policy: CircuitBreakerPolicy { machine.withLock { $0.policy } }

    /// Runs `body` when the breaker lets it, and counts how it ended.
    ///
    /// - Throws: ``CircuitOpen`` without running `body`, or what `body` threw.
    public func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let permit = try permit()
        do {
            let value = try await body()
            finish(permit, .success)
            return value
        } catch is CancellationError {
            finish(permit, .ignored)
            throw CancellationError()
        } catch {
            finish(permit, counts(error) ? .failure : .ignored)
            throw error
        }
    }

    /// A ticket to make a call now, for callers that cannot wrap the call in ``run(_:)``:
    /// hand it back with ``finish(_:_:)``.
    ///
    /// - Throws: ``CircuitOpen``.
    public func permit() throws -> CircuitBreakerMachine.Permit {
        let now = clock.now()
        let (decision, transition) = machine.withLock { $0.permit(at: now) }
        publish(transition)
        switch decision {
        case .permitted(let permit): return permit
        case .rejected(let retryAfter): throw CircuitOpen(breaker: name, retryAfter: retryAfter)
        }
    }

    public func finish(_ permit: CircuitBreakerMachine.Permit, _ outcome: CircuitBreakerMachine.Outcome) {
        let now = clock.now()
        publish(machine.withLock { $0.record(permit, outcome, at: now) })
    }

    /// Opens the breaker at once (a fault drill, an operator's switch).
    public func forceOpen(reason: String) {
        let now = clock.now()
        publish(machine.withLock { $0.forceOpen(at: now, reason: reason) })
    }

    /// Closes the breaker at once, its window emptied.
    public func reset(reason: String) {
        let now = clock.now()
        publish(machine.withLock { $0.reset(at: now, reason: reason) })
    }

    /// The breaker's state changes from now on, until the stream is dropped.
    public func transitions() -> AsyncStream<CircuitBreakerMachine.Transition> {
        let (stream, continuation) = AsyncStream<CircuitBreakerMachine.Transition>.makeStream(bufferingPolicy: .bufferingNewest(100))
        let id = UUID()
        watchers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in _ = self?.watchers.withLock { $0.removeValue(forKey: id) } }
        return stream
    }

    private func publish(_ transition: CircuitBreakerMachine.Transition?) {
        guard let transition else { return }
        let level: Logger.Level = transition.to == .open ? .warning : .info
        logger.log(level: level, "circuit breaker \(name): \(transition.from.rawValue) → \(transition.to.rawValue): \(transition.reason)")
        for watcher in watchers.withLock({ Array($0.values) }) { watcher.yield(transition) }
    }
}
