import Foundation
import MallApp
@testable import MallHTTP
import Synchronization
import Testing

/// `GET /admin/reconciliation` never holds a client for a whole long run, and requests
/// share one run instead of starting one each.
@Suite struct ReconciliationRunsTests {
    /// A run that waits until opened, counting how often it was started.
    final class SlowRun: Sendable {
        let started = Mutex(0)
        let open = Mutex(false)

        func run() async throws -> ReconciliationReport {
            started.withLock { $0 += 1 }
            while !open.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
            var report = ReconciliationReport()
            report.orders = 7
            return report
        }
    }

    @Test func requestsDuringALongRunShareItAndAreAnsweredWithoutItThenGetItsReport() async throws {
        let slow = SlowRun()
        let runs = ReconciliationRuns(wait: .milliseconds(50), fresh: .seconds(60)) { try await slow.run() }
        async let first = runs.report()
        async let second = runs.report()
        let answers = try await [first, second]
        for answer in answers {
            guard case .running = answer else { Issue.record("answered \(answer) while the run goes on"); continue }
        }
        #expect(slow.started.withLock { $0 } == 1, "one run for both requests")

        slow.open.withLock { $0 = true }
        // The run finishes in the background; the client that was told to come back gets it.
        var report: ReconciliationReport?
        for _ in 0..<1000 where report == nil {
            if case .finished(let finished, _, _) = try await runs.report() { report = finished }
        }
        #expect(report?.orders == 7)
        #expect(slow.started.withLock { $0 } == 1, "the finished report is the answer while it is fresh: no new run")
    }

    @Test func aStaleReportIsNotTheAnswerAndAQuickRunIsAnsweredAtOnce() async throws {
        let slow = SlowRun()
        slow.open.withLock { $0 = true }
        let runs = ReconciliationRuns(wait: .seconds(30), fresh: .zero) { try await slow.run() }
        guard case .finished = try await runs.report() else { Issue.record("a quick run was not answered"); return }
        guard case .finished = try await runs.report() else { Issue.record("a quick run was not answered"); return }
        #expect(slow.started.withLock { $0 } == 2, "a report older than `fresh` is not reused")
    }
}
