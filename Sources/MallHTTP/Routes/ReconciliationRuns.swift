import Foundation
import MallApplication
import MallOperations
import Synchronization

/// `GET /admin/reconciliation`'s runs: one at a time, shared by every request that arrives
/// while it runs, and answered within ``wait``.
///
/// Reconciling a large shop takes seconds to minutes; a request no longer holds its client
/// (and a place in flight) for all of it, and a dozen impatient retries no longer start a
/// dozen runs. A request joins the run under way, or starts one; if the run finishes within
/// ``wait`` the request gets its report, else `202` naming the run, whose report
/// ``outcome(ofRun:)`` gives once it is done (the latest ``kept`` runs are kept).
final class ReconciliationRuns: Sendable {
    enum Outcome {
        case finished(ReconciliationReport, startedAt: Date, finishedAt: Date)
        case running(run: Int, startedAt: Date)
    }

    private struct State {
        var nextRun = 1
        var running: (run: Int, task: Task<ReconciliationReport, any Error>, startedAt: Date)?
        var finished: [Int: (report: ReconciliationReport, startedAt: Date, finishedAt: Date)] = [:]
    }

    private let state = Mutex(State())
    /// How long a request waits for the run before it is answered `202`.
    let wait: Duration
    /// How many finished runs' reports are kept.
    let kept = 8
    private let run: @Sendable () async throws -> ReconciliationReport

    init(wait: Duration = .seconds(10), run: @escaping @Sendable () async throws -> ReconciliationReport) {
        self.wait = wait
        self.run = run
    }

    /// The report of the run under way, or of a new one, if it is ready within ``wait``.
    func report() async throws -> Outcome {
        let (run, task, startedAt) = state.withLock { state in
            if let running = state.running { return running }
            let run = state.nextRun, now = Date()
            state.nextRun += 1
            let task = Task { try await self.runOnce(run, startedAt: now) }
            state.running = (run, task, now)
            return (run, task, now)
        }
        return try await outcome(of: task, run: run, startedAt: startedAt)
    }

    /// The report of run `run` (waiting for it up to ``wait``); `nil` for a run unknown
    /// (never started, or no longer kept).
    func outcome(ofRun run: Int) async throws -> Outcome? {
        enum Found {
            case finished(Outcome), running(Task<ReconciliationReport, any Error>, Date), unknown
        }
        let found = state.withLock { state -> Found in
            if let done = state.finished[run] { return .finished(.finished(done.report, startedAt: done.startedAt, finishedAt: done.finishedAt)) }
            if let running = state.running, running.run == run { return .running(running.task, running.startedAt) }
            return .unknown
        }
        switch found {
        case .finished(let outcome): return outcome
        case .running(let task, let startedAt): return try await outcome(of: task, run: run, startedAt: startedAt)
        case .unknown: return nil
        }
    }

    /// The run's report if it finishes within ``wait``, else ``Outcome/running(run:startedAt:)``.
    /// Two tasks race to answer (the run's end, the wait's): a task group would not do, as it
    /// waits for all of its children, and waiting for a task's result cannot be cancelled.
    private func outcome(of task: Task<ReconciliationReport, any Error>, run: Int, startedAt: Date) async throws -> Outcome {
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
        guard let result else { return .running(run: run, startedAt: startedAt) }
        let report = try result.get()
        let finishedAt = state.withLock { $0.finished[run]?.finishedAt } ?? Date()
        return .finished(report, startedAt: startedAt, finishedAt: finishedAt)
    }

    private func runOnce(_ run: Int, startedAt: Date) async throws -> ReconciliationReport {
        do {
            let report = try await self.run()
            state.withLock { state in
                state.running = nil
                state.finished[run] = (report, startedAt, Date())
                if let oldest = state.finished.keys.min(), state.finished.count > kept { state.finished[oldest] = nil }
            }
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
