@_spi(Operations) import MallApplication
import Herald
import Synchronization

extension Mall {
    /// Fails unless the store answers a read within `timeout`: readiness (the database is
    /// reachable; migrations ran when it was opened). Never waits longer than `timeout`,
    /// whatever the store does.
    ///
    /// - Throws: ``StoreError/unavailable(_:)`` (or the store's own error).
    public func checkReady(within timeout: Duration = .seconds(2)) async throws {
        let store = engine.store
        try await withDeadline(timeout) { _ = try await store.headPosition() }
    }
}

/// Runs `operation`, but returns (throwing ``StoreError/unavailable(_:)``) once `timeout`
/// has passed, without waiting for it to notice: a store call stuck on a dead connection
/// does not answer cancellation.
func withDeadline<T: Sendable>(_ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let outcome = Mutex<CheckedContinuation<T, any Error>?>(nil)
    let finish: @Sendable (Result<T, any Error>) -> Void = { result in
        outcome.withLock { continuation -> CheckedContinuation<T, any Error>? in
            defer { continuation = nil }
            return continuation
        }?.resume(with: result)
    }
    var tasks: [Task<Void, Never>] = []
    defer { for task in tasks { task.cancel() } }
    return try await withCheckedThrowingContinuation { continuation in
        outcome.withLock { $0 = continuation }
        tasks.append(Task {
            do { finish(.success(try await operation())) } catch { finish(.failure(error)) }
        })
        tasks.append(Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            finish(.failure(StoreError.unavailable("no answer from the store within \(timeout)")))
        })
    }
}
