import Foundation
import MallApp
import Synchronization

/// `GET /admin/reconciliation`'s runs: one at a time, shared by every request that arrives
/// while it runs, and answered within ``wait``.
///
/// Reconciling a large shop takes seconds to minutes; a request no longer holds its client
/// (and a place in flight) for all of it, and a dozen impatient retries no longer start a
/// dozen runs. A request joins the run under way, or starts one; if the run finishes within
/// ``wait`` the request gets its report, else `202` and the run goes on. A report stays the
/// answer for ``fresh`` after it finished, so the client that was told to come back gets the
/// run it waited for; after that a request starts a new run.
final class ReconciliationRuns: Sendable {
    enum Outcome {
        case finished(ReconciliationReport, startedAt: Date, finishedAt: Date)
        case running(startedAt: Date)
    }

    private struct State {
        var running: (task: Task<ReconciliationReport, any Error>, startedAt: Date)?
        var last: (report: ReconciliationReport, startedAt: Date, finishedAt: Date)?
    }

    private let state = Mutex(State())
    /// How long a request waits for the run before it is answered `202`.
    let wait: Duration
    /// How long a finished run's report is the answer.
    let fresh: Duration
    private let run: @Sendable () async throws -> ReconciliationReport

    init(wait: Duration = .seconds(10), fresh: Duration = .seconds(15), run: @escaping @Sendable () async throws -> ReconciliationReport) {
        self.wait = wait
        self.fresh = fresh
        self.run = run
    }

    /// The report of the run under way, of one that finished less than ``fresh`` ago, or of a
    /// new one, if it is ready within ``wait``.
    func report() async throws -> Outcome {
        enum Step {
            case answer(Outcome)
            case await(Task<ReconciliationReport, any Error>, startedAt: Date)
        }
        let now = Date()
        let step = state.withLock { state -> Step in
            if let running = state.running { return .await(running.task, startedAt: running.startedAt) }
            if let last = state.last, now.timeIntervalSince(last.finishedAt) < fresh.seconds {
                return .answer(.finished(last.report, startedAt: last.startedAt, finishedAt: last.finishedAt))
            }
            let task = Task { try await self.runOnce(startedAt: now) }
            state.running = (task, now)
            return .await(task, startedAt: now)
        }
        switch step {
        case .answer(let outcome): return outcome
        case .await(let task, let startedAt): return try await outcome(of: task, startedAt: startedAt)
        }
    }

    /// The run's report if it finishes within ``wait``, else ``Outcome/running(startedAt:)``.
    /// Two tasks race to answer (the run's end, the wait's): a task group would not do, as it
    /// waits for all of its children, and waiting for a task's result cannot be cancelled.
    private func outcome(of task: Task<ReconciliationReport, any Error>, startedAt: Date) async throws -> Outcome {
        let once = Once()
        let result: Result<ReconciliationReport, any Error>? = await withCheckedContinuation { continuation in
            Task {
                let result = await task.result
                if once.claim() { continuation.resume(returning: result) }
            }
            Task { [wait] in
                try? await Task.sleep(for: wait)
                if once.claim() { continuation.resume(returning: nil) }
            }
        }
        guard let result else { return .running(startedAt: startedAt) }
        let report = try result.get()
        let finishedAt = state.withLock { $0.last?.finishedAt } ?? Date()
        return .finished(report, startedAt: startedAt, finishedAt: finishedAt)
    }

    private func runOnce(startedAt: Date) async throws -> ReconciliationReport {
        do {
            let report = try await run()
            state.withLock { $0 = State(running: nil, last: (report, startedAt, Date())) }
            return report
        } catch {
            state.withLock { $0.running = nil }
            throw error
        }
    }
}

/// True for the first caller only.
private final class Once: Sendable {
    private let claimed = Mutex(false)

    func claim() -> Bool {
        claimed.withLock { claimed in
            defer { claimed = true }
            return !claimed
        }
    }
}

extension Duration {
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
