import Herald

/// An operation that did not finish within its time limit (it was cancelled).
public struct TimedOut: Error, Sendable, Hashable, CustomStringConvertible {
    public var limit: Duration
    public var description: String { "timed out after \(limit)" }
}

/// Runs `operation`, cancelling it when `limit` passes first on `clock`.
///
/// - Throws: ``TimedOut`` when the limit passed (once the operation has returned from its
///   cancellation), or what `operation` threw.
///
/// ```swift
/// let intent = try await withTimeout(.seconds(2), clock: clock) { try await gateway.createIntent(order) }
/// ```
public func withTimeout<T: Sendable>(
    _ limit: Duration, clock: any HeraldClock, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let deadline = clock.now().adding(limit)
    return try await withThrowingTaskGroup(of: TimeoutRace<T>.self) { group in
        group.addTask { .returned(try await operation()) }
        group.addTask {
            try await clock.sleep(until: deadline)
            return .timedOut
        }
        defer { group.cancelAll() }
        guard case .returned(let value) = try await group.next() else { throw TimedOut(limit: limit) }
        return value
    }
}

/// `operation`'s value, or `fallback`'s when `operation` throws an error `applies` accepts
/// (every error but cancellation by default).
///
/// ```swift
/// let recommendations = await withFallback { try await recommender.top(for: member) } fallback: { _ in bestsellers }
/// ```
public func withFallback<T>(
    _ operation: () async throws -> T,
    when applies: (any Error) -> Bool = { !($0 is CancellationError) },
    fallback: (any Error) async throws -> T
) async throws -> T {
    do {
        return try await operation()
    } catch where applies(error) {
        return try await fallback(error)
    }
}

/// Which of a ``withTimeout(_:clock:_:)``'s two tasks ended first.
private enum TimeoutRace<T: Sendable>: Sendable {
    case returned(T)
    case timedOut
}
