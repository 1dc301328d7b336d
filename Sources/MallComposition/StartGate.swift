import ServiceLifecycle
import Synchronization

/// Holds services back until the node is ready for them: the store migrated and the
/// projections' tables made, which on PostgreSQL needs the client the same service group
/// runs.
final class StartGate: Sendable {
    private struct State {
        var open = false
        var waiting: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Lets every waiting service go, and every later one at once.
    func open() {
        let waiting = state.withLock { state in
            state.open = true
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for continuation in waiting { continuation.resume() }
    }

    var isOpen: Bool { state.withLock { $0.open } }

    /// Returns once the gate is open, or as soon as the task is cancelled.
    func wait() async {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state in
                    guard !state.open, !Task.isCancelled else { return true }
                    state.waiting[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiting.removeValue(forKey: id) }?.resume()
        }
    }
}

/// `service`, started once `gate` opens; it returns without starting when the group shuts
/// down first.
struct AfterStart: Service {
    let gate: StartGate
    let service: any Service

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.gate.wait() }
        guard gate.isOpen, !Task.isCancelled else { return }
        try await service.run()
    }
}
