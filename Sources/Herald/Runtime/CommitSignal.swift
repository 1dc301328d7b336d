import Foundation
import ServiceLifecycle
import Synchronization

/// Wakes waiting subscription workers and schedulers when something was committed in
/// this process. Every store owns one and calls ``notify()`` after each commit.
///
/// The signal counts generations, so a waiter that read ``generation`` before checking
/// for work never misses a commit that happened in between.
public final class CommitSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var nextWaiterID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// The number of notifications so far.
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Announces a commit: resumes every waiter.
    public func notify() {
        let waiters = state.withLock { state in
            state.generation &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the generation differs from `seen`, or when the task is cancelled.
    public func wait(since seen: UInt64) async {
        let id = state.withLock { state -> Int in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.generation != seen || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }

    /// Returns once the generation differs from `seen`, `deadline` has come (on `clock`), or
    /// the task is cancelled: a wait for work with polling as the fallback.
    public func wait(since seen: UInt64, until deadline: Date, clock: any HeraldClock) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait(since: seen) }
            group.addTask { try? await clock.sleep(until: deadline) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Runs `step` again and again until the task is cancelled or a graceful shutdown
    /// begins, waiting after each step until this signal fires or `interval` has passed on
    /// `clock`: a follower of announced changes, with polling as the fallback. A signal that
    /// fires during a step is not missed.
    public func repeatedly(every interval: Duration, clock: any HeraldClock, _ step: () async -> Void) async {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let seen = generation
            await step()
            let deadline = clock.now().adding(interval)
            // Returns early when the service group shuts down (and the loop ends).
            await cancelWhenGracefulShutdown { await self.wait(since: seen, until: deadline, clock: clock) }
        }
    }
}
