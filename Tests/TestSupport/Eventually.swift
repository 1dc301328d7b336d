import Foundation

/// A condition that did not come true in time.
public struct NotEventually: Error, CustomStringConvertible {
    public var what: String
    public var timeout: Duration
    public var description: String { "not within \(timeout): \(what)" }
}

/// Waits until `condition` holds, polling every `interval`: for what another process or a
/// background worker does in its own time (a real server's subscriptions, a projection
/// catching up). Tests driving Herald by hand drain workers instead.
///
/// - Throws: ``NotEventually`` naming `what` after `timeout` (a generous bound on a busy
///   machine, not a speed claim).
public func eventually(
    _ what: String, timeout: Duration = .seconds(60), every interval: Duration = .milliseconds(25),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw NotEventually(what: what, timeout: timeout) }
        try await Task.sleep(for: interval)
    }
}
