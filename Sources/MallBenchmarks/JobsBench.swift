import Foundation
import Herald
import HeraldSQLite
@_spi(Operations) import MallApplication
import MallComposition
import MallOperations
import Scheduling
import Synchronization

/// `mall-bench --jobs`: what the job scheduler costs a node, and reconciliation at scale.
///
/// In one run, on SQLite files with Mall's settings:
/// 1. Scheduling overhead, in process: `--jobs-count` jobs of `--job-items` items each, every
///    item on this one node, driven tick by tick on a clock stepped a minute per tick.
///    - `item_evaluations_per_s`: items looked at per second when none is due (a tick
///      reads each job's controls and each item's state, and commits nothing), next to
///      `document_reads_per_s`, Herald's aggregate loads on the same file, the work an
///      evaluation cannot do without.
///    - `item_runs_per_s`: items run per second when every item is due each tick (an empty
///      body: claim, run, record the end and its history), next to
///      `document_commits_per_s`, one-document unit-of-work commits on the same settings;
///      a run takes two commits (claim and end), so 0.5 is the ratio to expect.
/// 2. Reconciliation: orders are placed in process until `--reconcile-orders` (100,000)
///    exist, then `mall reconcile` and `mall reconcile --repair` run on the database as
///    child processes: `reconcile_seconds` / `reconcile_rss_mb` and
///    `reconcile_repair_seconds` / `reconcile_repair_rss_mb` (peak resident memory: `VmHWM`,
///    see ``ChildProcess``).
enum JobsBench {
    struct Settings {
        var jobs = 10
        var items = 16
        var ticks = 50
        var reconcileOrders = 100_000
        /// Where to keep the shop's SQLite file afterwards (deleted when `nil`).
        var keep: String?
    }

    static func run(_ settings: Settings) async throws -> [(String, Double)] {
        @Sendable func note(_ line: String) { FileHandle.standardError.write(Data("mall-bench --jobs: \(line)\n".utf8)) }
        var results: [(String, Double)] = []
        note("scheduling: \(settings.jobs) jobs × \(settings.items) items")
        results += try await schedulingOverhead(settings)

        let shopFile = try BenchShopFile("jobs", keep: settings.keep)
        defer { shopFile.finish() }
        let directory = shopFile.directory, database = shopFile.path
        note("placing orders until \(settings.reconcileOrders) exist")
        let placed = try await Mall.withMall(shopFile.configuration, logger: quietLogger) { mall in
            try await mall.seedDemoCatalogIfEmpty()
            for sku in MallBench.skus { try await mall.receiveStock(sku: sku, quantity: 10_000_000) }
            let shop = try InProcessShop(mall: mall)
            try await shop.settle()
            return try await shop.placeOrders(until: settings.reconcileOrders)
        }
        results.append(("reconcile_orders", Double(placed)))
        for (label, extra) in [("reconcile", [String]()), ("reconcile_repair", ["--repair"])] {
            note("mall reconcile \(extra.joined()) over \(placed) orders")
            let output = directory.appendingPathComponent("\(label).out").path
            let outcome = try ChildProcess.run(
                try MallBench.sibling("mall"), ["reconcile", "--database", database, "--submitted-grace", "100000000"] + extra, output: output)
            let report = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            guard outcome.status == 0, report.contains("checked \(placed) orders") else {
                throw BenchError("mall reconcile \(extra.joined()) exited \(outcome.status): \(report.prefix(2000))")
            }
            results.append(("\(label)_seconds", outcome.seconds))
            results.append(("\(label)_rss_mb", outcome.maxResidentKilobytes / 1024))
        }
        return results
    }

    /// Part 1: the scheduler's own cost per item, next to the store operations it is made of.
    static func schedulingOverhead(_ settings: Settings) async throws -> [(String, Double)] {
        let file = TemporarySQLiteFile("mall-bench-jobs")
        defer { file.remove() }
        let clock = SteppedClock()
        let engine = HeraldEngine(store: try SQLiteEventStore(path: file.path), clock: clock, logger: quietLogger, node: "bench")
        let ran = Atomic<Int>(0)
        let jobs = try (0..<settings.jobs).map { index in
            try Job(name: "job-\(index)", schedule: try CronSchedule("* * * * *"), items: settings.items, timeout: .seconds(60), misfire: .runOnce) { _ in
                ran.add(1, ordering: .relaxed)
            }
        }
        // A lease of a day: renewals (every third of it) stay out of both measured phases.
        let scheduler = try JobScheduler(engine: engine, jobs: jobs, tickInterval: .seconds(1), leaseDuration: .seconds(86_400), logger: quietLogger)
        try await scheduler.runDue()  // first sight: every item's state is created
        let items = settings.jobs * settings.items

        // Nothing due: the clock stands still.
        var start = ContinuousClock.now
        for _ in 0..<settings.ticks * 4 { try await scheduler.runDue() }
        let evaluations = Double(settings.ticks * 4 * items) / (ContinuousClock.now - start).seconds

        // Everything due: a minute passes before each tick.
        start = ContinuousClock.now
        for _ in 0..<settings.ticks {
            clock.step(by: 60)
            try await scheduler.runDue()
        }
        let runs = Double(settings.ticks * items) / (ContinuousClock.now - start).seconds
        guard ran.load(ordering: .relaxed) == settings.ticks * items else {
            throw BenchError("\(ran.load(ordering: .relaxed)) runs, expected \(settings.ticks * items)")
        }

        // The baselines, on the same file: one-document commits, then loads of those documents.
        let commits = settings.ticks * items
        start = ContinuousClock.now
        for index in 0..<commits {
            let work = engine.unitOfWork()
            var counter = BenchCounter(id: "c\(index % items)")
            if let loaded = try await work.load(BenchCounter.self, id: counter.id) { counter = loaded }
            counter.count += 1
            try work.save(&counter)
            try await work.commit()
        }
        let commitRate = Double(commits) / (ContinuousClock.now - start).seconds
        start = ContinuousClock.now
        for index in 0..<settings.ticks * 4 * items { _ = try await engine.unitOfWork().load(BenchCounter.self, id: "c\(index % items)") }
        let readRate = Double(settings.ticks * 4 * items) / (ContinuousClock.now - start).seconds
        return [
            ("scheduled_items", Double(items)),
            ("item_evaluations_per_s", evaluations),
            ("document_reads_per_s", readRate),
            ("item_evaluations_vs_reads", evaluations / readRate),
            ("item_runs_per_s", runs),
            ("document_commits_per_s", commitRate),
            ("item_runs_vs_commits", runs / commitRate),
        ]
    }
}

/// A clock that moves only when stepped; a sleep waits in real time for the step that
/// passes its deadline (the scheduler's timeouts, never reached here).
final class SteppedClock: HeraldClock {
    private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))

    func now() -> Date { current.withLock { $0 } }

    func step(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }

    func sleep(until deadline: Date) async throws {
        while now() < deadline { try await Task.sleep(for: .milliseconds(10)) }
    }
}
