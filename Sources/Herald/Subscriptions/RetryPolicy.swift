import Foundation

/// How often and how patiently a subscription retries a failing event before it becomes
/// a dead letter.
///
/// The delay before attempt *n + 1* is drawn uniformly from `0 ... min(maxDelay,
/// baseDelay × 2ⁿ⁻¹)` ("full jitter"), so a failing dependency sees bounded, spread-out
/// load: at most ``maxAttempts`` calls per event.
///
/// ```swift
/// let policy = try RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(200), maxDelay: .seconds(30))
/// ```
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts per event, the first included. 1 means "never retry".
    public let maxAttempts: Int
    public let baseDelay: Duration
    public let maxDelay: Duration

    /// 8 attempts, 100 ms doubling up to 1 minute.
    public static let `default` = try! RetryPolicy(maxAttempts: 8, baseDelay: .milliseconds(100), maxDelay: .seconds(60))

    /// - Throws: ``ConfigurationError`` naming the setting when `maxAttempts` < 1, a delay
    ///   is negative, or `maxDelay` < `baseDelay`.
    public init(maxAttempts: Int, baseDelay: Duration, maxDelay: Duration) throws {
        guard maxAttempts >= 1 else {
            throw ConfigurationError(setting: "RetryPolicy.maxAttempts", value: "\(maxAttempts)", allowed: "at least 1 (the first attempt counts)")
        }
        guard baseDelay >= .zero else {
            throw ConfigurationError(setting: "RetryPolicy.baseDelay", value: "\(baseDelay)", allowed: "zero or positive")
        }
        guard maxDelay >= baseDelay else {
            throw ConfigurationError(setting: "RetryPolicy.maxDelay", value: "\(maxDelay)", allowed: "at least baseDelay (\(baseDelay))")
        }
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The delay after the `failedAttempts`-th failure, with `unit` a random value in `0 ..< 1`.
    public func delay(afterFailedAttempts failedAttempts: Int, unit: Double) -> Duration {
        let exponent = min(max(failedAttempts - 1, 0), 62)
        let cap = min(maxDelay.timeInterval, baseDelay.timeInterval * pow(2, Double(exponent)))
        return .nanoseconds(Int64(cap * min(max(unit, 0), 1) * 1_000_000_000))
    }
}
