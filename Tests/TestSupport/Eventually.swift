import Foundation

/// A condition that did not come true in time.
public struct NotEventually: Error, CustomStringConvertible {
    public var what: String
    public var timeout: Duration
    public var lastError: String?
    public var description: String { "not within \(timeout): \(what)" + (lastError.map { " (last error: \($0))" } ?? "") }
}

/// Waits until `condition` holds, polling every `interval`: for what another process or a
/// background task does in its own time (a real server's subscriptions, a worker on a
/// manual clock, a projection catching up). The project's one poll-until.
///
/// - Parameters:
///   - toleratingErrors: treat an error of `condition` as "not yet" (a server being
///     restarted), not as a failure.
///   - between: runs after each poll that failed, e.g. to move a manual clock on.
/// - Throws: ``NotEventually`` naming `what` after `timeout` (a bound against a hang on a
///   busy machine, never a speed claim), or the condition's error.
public func eventually(
    _ what: String, timeout: Duration = .seconds(60), every interval: Duration = .milliseconds(10),
    toleratingErrors: Bool = false, between: () -> Void = {}, _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    var lastError: (any Error)?
    while true {
        do {
            if try await condition() { return }
        } catch where toleratingErrors {
            lastError = error
        }
        guard ContinuousClock.now < deadline else { throw NotEventually(what: what, timeout: timeout, lastError: lastError.map { "\($0)" }) }
        between()
        try await Task.sleep(for: interval)
    }
}
