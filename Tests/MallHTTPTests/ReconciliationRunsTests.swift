import Foundation
@_spi(Operations) import MallApplication
import MallOperations
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

    @Test func requestsDuringALongRunShareItAndAreAnsweredWithoutItThenItsReportIsKept() async throws {
        let slow = SlowRun()
        let runs = ReconciliationRuns(wait: .milliseconds(50)) { try await slow.run() }
        async let first = runs.report()
        async let second = runs.report()
        var named: Set<Int> = []
        for answer in try await [first, second] {
            guard case .running(let run, _) = answer else { Issue.record("answered \(answer) while the run goes on"); continue }
            named.insert(run)
        }
        #expect(slow.started.withLock { $0 } == 1 && named.count == 1, "one run for both requests")
        #expect(try await runs.outcome(ofRun: 99) == nil, "an unknown run")

        slow.open.withLock { $0 = true }
        var report: ReconciliationReport?
        for _ in 0..<1000 where report == nil {
            if case .finished(let finished, _, _) = try await runs.outcome(ofRun: named.first!) { report = finished }
        }
        #expect(report?.orders == 7, "the run's report, once done")
        guard case .finished = try await runs.report() else { Issue.record("a quick run was not answered"); return }
        #expect(slow.started.withLock { $0 } == 2, "a request after a finished run starts a new one: no stale report")
    }
}
