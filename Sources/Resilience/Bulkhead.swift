import Foundation
import Herald
import Synchronization

/// How many calls may run at once, and how many may wait for a turn and for how long.
public struct BulkheadPolicy: Sendable, Hashable {
    public var maxConcurrent: Int
    /// Calls that may wait for a turn; one more is refused at once.
    public var maxWaiting: Int
    /// How long a call waits for a turn before it is refused.
    public var maxWait: Duration

    public init(maxConcurrent: Int, maxWaiting: Int = 0, maxWait: Duration = .zero) {
        self.maxConcurrent = maxConcurrent
        self.maxWaiting = maxWaiting
        self.maxWait = maxWait
    }

    /// - Throws: ``ConfigurationError`` naming the field, the value and the allowed range.
    public func validate() throws {
        guard (1...100_000).contains(maxConcurrent) else {
            throw ConfigurationError(setting: "BulkheadPolicy.maxConcurrent", value: "\(maxConcurrent)", allowed: "1...100000")
        }
        guard (0...100_000).contains(maxWaiting) else {
            throw ConfigurationError(setting: "BulkheadPolicy.maxWaiting", value: "\(maxWaiting)", allowed: "0...100000")
        }
        guard maxWait >= .zero, maxWait <= .seconds(3600) else {
            throw ConfigurationError(setting: "BulkheadPolicy.maxWait", value: "\(maxWait)", allowed: "0 s...3600 s")
        }
    }
}

/// A call the bulkhead refused: all its places taken and its queue full, or the wait too long.
public struct BulkheadFull: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Sendable, Hashable {
        case queueFull = "its queue is full"
        case waitedTooLong = "the wait for a turn timed out"
    }

    public var bulkhead: String
    public var reason: Reason

    public var description: String { "bulkhead \(bulkhead) refused the call: \(reason.rawValue)" }
}

/// Keeps one dependency from taking every task: at most ``BulkheadPolicy/maxConcurrent``
/// calls run at once, at most ``BulkheadPolicy/maxWaiting`` wait (first come, first
/// served) and none longer than ``BulkheadPolicy/maxWait``. Refusals are immediate and
/// cheap, so a slow dependency costs its callers a bounded wait, not a pile-up.
///
/// ```swift
/// let gatewayCalls = try Bulkhead(name: "payment-gateway", policy: BulkheadPolicy(maxConcurrent: 16, maxWaiting: 32, maxWait: .milliseconds(200)), clock: SystemClock())
/// let intent = try await gatewayCalls.run { try await gateway.createIntent(order) }
/// ```
public final class Bulkhead: Sendable {
    private struct Waiter {
        let id: UInt64
        var continuation: CheckedContinuation<Void, any Error>?
    }

    private struct State {
        var running = 0
        var waiters: [Waiter] = []
        /// Outcomes decided before the waiter's continuation was in place.
        var decided: [UInt64: Result<Void, any Error>] = [:]
        var nextID: UInt64 = 0
    }

    private enum Admission {
        case admitted
        case refused
        case queued(UInt64)
    }

    public let name: String
    public let policy: BulkheadPolicy
    private let clock: any HeraldClock
    private let state = Mutex(State())

    /// - Throws: ``ConfigurationError`` for an invalid policy.
    public init(name: String, policy: BulkheadPolicy, clock: any HeraldClock) throws {
        try policy.validate()
        self.name = name
        self.policy = policy
        self.clock = clock
    }

    /// Calls running now, and calls waiting for a turn.
    public var load: (running: Int, waiting: Int) { state.withLock { ($0.running, $0.waiters.count) } }

    /// Runs `body` in a turn of its own.
    ///
    /// - Throws: ``BulkheadFull`` without running `body`, `CancellationError` when the task
    ///   is cancelled while it waits, or what `body` threw.
    public func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async throws {
        let admission = state.withLock { state -> Admission in
            if state.running < policy.maxConcurrent {
                state.running += 1
                return .admitted
            }
            guard policy.maxWaiting > state.waiters.count, policy.maxWait > .zero else { return .refused }
            state.nextID += 1
            state.waiters.append(Waiter(id: state.nextID))
            return .queued(state.nextID)
        }
        let id: UInt64
        switch admission {
        case .admitted: return
        case .refused: throw BulkheadFull(bulkhead: name, reason: .queueFull)
        case .queued(let queued): id = queued
        }
        let deadline = clock.now().adding(policy.maxWait)
        let timer = Task { [clock, name] in
            guard (try? await clock.sleep(until: deadline)) != nil else { return }
            self.abandon(id, BulkheadFull(bulkhead: name, reason: .waitedTooLong))
        }
        defer { timer.cancel() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let early = state.withLock { state -> Result<Void, any Error>? in
                    if let decided = state.decided.removeValue(forKey: id) { return decided }
                    if let index = state.waiters.firstIndex(where: { $0.id == id }) { state.waiters[index].continuation = continuation }
                    return nil
                }
                if let early { continuation.resume(with: early) }
            }
        } onCancel: {
            abandon(id, CancellationError())
        }
    }

    /// Gives the turn to the first waiter, or frees it.
    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard !state.waiters.isEmpty else {
                state.running -= 1
                return nil
            }
            let waiter = state.waiters.removeFirst()
            guard let continuation = waiter.continuation else {
                state.decided[waiter.id] = .success(())
                return nil
            }
            return continuation
        }
        next?.resume()
    }

    /// Takes waiter `id` out of the queue with `error`; one already given a turn keeps it.
    private func abandon(_ id: UInt64, _ error: any Error) {
        let waiting = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            let waiter = state.waiters.remove(at: index)
            guard let continuation = waiter.continuation else {
                state.decided[id] = .failure(error)
                return nil
            }
            return continuation
        }
        waiting?.resume(throwing: error)
    }
}
