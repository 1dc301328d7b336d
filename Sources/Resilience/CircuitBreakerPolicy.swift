import Herald

/// When a ``CircuitBreaker`` opens, how long it stays open and how it tries again.
///
/// The breaker judges the calls of a sliding window: it opens when, among at least
/// ``minimumCalls`` calls, the share that failed reaches ``failureRateThreshold`` or the
/// share slower than ``slowCallDuration`` reaches ``slowCallRateThreshold``. Open, it
/// rejects calls for ``waitInOpen``; then ``halfOpenProbes`` calls go through, and their
/// outcome decides between closed and open again.
///
/// ```swift
/// var policy = CircuitBreakerPolicy()
/// policy.window = .duration(.seconds(10))
/// policy.failureRateThreshold = 0.5
/// try policy.validate()
/// ```
public struct CircuitBreakerPolicy: Sendable, Hashable {
    public enum Window: Sendable, Hashable {
        /// The last `n` calls.
        case calls(Int)
        /// The calls that ended in the last whole seconds of this length (one-second buckets).
        case duration(Duration)
    }

    public var window: Window = .calls(100)
    /// The share of failed calls (0 < x ≤ 1) that opens the breaker.
    public var failureRateThreshold = 0.5
    /// The share of slow calls (0 < x ≤ 1) that opens the breaker; 1 opens only when every call is slow.
    public var slowCallRateThreshold = 1.0
    /// A call taking at least this long is slow (whether it failed or not).
    public var slowCallDuration: Duration = .seconds(2)
    /// Calls the window must hold before the breaker judges.
    public var minimumCalls = 20
    /// How long the open breaker rejects calls before it lets probes through.
    public var waitInOpen: Duration = .seconds(30)
    /// Calls let through half open; the breaker closes or opens again when all have ended.
    public var halfOpenProbes = 5

    public init() {}

    /// The longest window and wait accepted: a breaker remembering more is not judging the present.
    public static let maximumDuration: Duration = .seconds(3600)
    /// The longest count window accepted.
    public static let maximumCalls = 100_000

    /// - Throws: ``ConfigurationError`` naming the field, the value and the allowed range.
    public func validate() throws {
        func check(_ ok: Bool, _ field: String, _ value: CustomStringConvertible, _ allowed: String) throws {
            guard ok else { throw ConfigurationError(setting: "CircuitBreakerPolicy.\(field)", value: value.description, allowed: allowed) }
        }
        switch window {
        case .calls(let calls):
            try check((1...Self.maximumCalls).contains(calls), "window", "\(calls) calls", "1...\(Self.maximumCalls) calls")
        case .duration(let duration):
            try check(duration >= .seconds(1) && duration <= Self.maximumDuration && duration.components.attoseconds == 0,
                      "window", duration, "whole seconds within 1...3600")
        }
        try check(failureRateThreshold > 0 && failureRateThreshold <= 1, "failureRateThreshold", failureRateThreshold, "more than 0, at most 1")
        try check(slowCallRateThreshold > 0 && slowCallRateThreshold <= 1, "slowCallRateThreshold", slowCallRateThreshold, "more than 0, at most 1")
        try check(slowCallDuration > .zero && slowCallDuration <= Self.maximumDuration, "slowCallDuration", slowCallDuration, "more than 0 s, at most 3600 s")
        try check((1...Self.maximumCalls).contains(minimumCalls), "minimumCalls", minimumCalls, "1...\(Self.maximumCalls)")
        if case .calls(let calls) = window {
            try check(minimumCalls <= calls, "minimumCalls", minimumCalls, "at most the window's \(calls) calls")
        }
        try check(waitInOpen > .zero && waitInOpen <= Self.maximumDuration, "waitInOpen", waitInOpen, "more than 0 s, at most 3600 s")
        try check((1...1000).contains(halfOpenProbes), "halfOpenProbes", halfOpenProbes, "1...1000")
    }
}
