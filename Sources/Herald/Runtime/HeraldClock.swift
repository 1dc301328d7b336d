import Foundation

/// The source of time for everything Herald does: timestamps, retry back-off, scheduled
/// messages and polling. Inject a manual clock in tests instead of sleeping.
public protocol HeraldClock: Sendable {
    /// The current time.
    func now() -> Date
    /// Suspends until `deadline` has passed on this clock.
    ///
    /// - Throws: `CancellationError` when the task is cancelled first.
    func sleep(until deadline: Date) async throws
}

/// Wall-clock time.
public struct SystemClock: HeraldClock {
    public init() {}

    public func now() -> Date { Date() }

    public func sleep(until deadline: Date) async throws {
        let interval = deadline.timeIntervalSinceNow
        if interval > 0 {
            try await Task.sleep(for: .nanoseconds(Int64(interval * 1_000_000_000)))
        } else {
            try Task.checkCancellation()
        }
    }
}

extension Duration {
    /// The duration in seconds, as `TimeInterval`.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    /// The duration in whole nanoseconds.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

extension Date {
    /// The date `duration` later.
    public func adding(_ duration: Duration) -> Date { addingTimeInterval(duration.timeInterval) }
}
