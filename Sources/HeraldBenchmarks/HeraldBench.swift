import ArgumentParser
import BenchmarkSupport
import Foundation
import GRDB
import Herald
import HeraldPostgres
import HeraldSQLite
import Histogram
import Logging
import PostgresNIO
import Synchronization

/// `herald-bench [--json] [--events N] [--latency-seconds S] [--commits N] [--scale-events N] [--database postgres://…]`
/// (`--help` lists them)
///
/// Measures Herald on SQLite next to SQLite's C API and plain GRDB on the same settings, and
/// the disk's fsync rate, in the same run, so the ratios mean something on a machine whose
/// disk speed swings by 100×. With
/// `--database postgres://…` it measures the PostgreSQL store next to plain PostgresNIO
/// one-row INSERTs on the same server, each store in a schema of its own (dropped after),
/// and scale-out: 1, 2 and 3 consumer processes (`herald-crash-worker consume`, which must
/// sit next to this executable) sharing a partitioned subscription.
@main
struct HeraldBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald-bench", abstract: "Herald on SQLite (or PostgreSQL) next to the plain driver, in the same run.")

    struct Settings {
        var json = false
        var commits = 4000
        var fullCommits = 400
        var backlog = 100_000
        var latencySeconds = 10
        var rate = 1000
        var scaleEvents = 10_000
        var databaseURL: String?
        /// The CPU cap of each consumer process of the scale-out phases, in cores.
        var consumerCPU = 0.25
        /// Rounds of 1, 2 and 3 capped consumers.
        var scaleRounds = 3
    }

    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Commits of the commit-rate phases.") var commits = 4000
    @Option(name: .customLong("events"), help: "Events of the backlog drained.") var backlog = 100_000
    @Option(help: "Seconds of the fixed-rate latency phase.") var latencySeconds = 10
    @Option(help: "Events of each scale-out drain (PostgreSQL).") var scaleEvents = 10_000
    @Option(help: "Rounds of 1, 2 and 3 capped consumers (PostgreSQL); each figure is the median.") var scaleRounds = 3
    @Option(help: "A postgres://user@host:port/database URL: measure the PostgreSQL store and scale-out.") var database: String?
    @Option(help: "With --database: each consumer process's CPU cap in the scale-out phases, in cores (a cgroup each; needs root).")
    var consumerCPU = 0.25
    @Option(help: ArgumentHelp(
        "Only run N unit-of-work commits (or, with --raw-c, SQLite's C API doing the same statements) and exit: for an instruction counter (Benchmarks/instructions.sh).",
        valueName: "N"))
    var onlyCommits: Int?
    @Flag(help: "With --only-commits: SQLite's C API instead of Herald.") var rawC = false

    func validate() throws {
        guard commits > 0, backlog > 0, latencySeconds > 0, scaleEvents > 0, scaleRounds > 0 else {
            throw ValidationError("--commits, --events, --latency-seconds, --scale-events and --scale-rounds must be positive")
        }
        guard let database else { return }
        guard (try? PostgresEventStore.configuration(url: database)) != nil else {
            throw ValidationError("--database needs a postgres://user@host:port/database URL")
        }
        let worker = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("herald-crash-worker")
        guard FileManager.default.isExecutableFile(atPath: worker.path) else {
            throw ValidationError(
                "--database measures scale-out with \(worker.path), which is not built; run `swift build -c release --product herald-crash-worker` first")
        }
    }

    func run() async throws {
        if let onlyCommits { return try await Bench.onlyCommits(onlyCommits, rawC: rawC) }
        var settings = Settings()
        settings.json = json
        settings.commits = commits
        settings.backlog = backlog
        settings.latencySeconds = latencySeconds
        settings.scaleEvents = scaleEvents
        settings.databaseURL = database
        settings.consumerCPU = consumerCPU
        settings.scaleRounds = scaleRounds
        if database != nil {
            // No silent uncapped run: a cap that cannot be made ends the benchmark here, saying why.
            do {
                try CPUCap.make(prefix: "herald-bench", cores: consumerCPU).remove()
            } catch let unavailable as CPUCap.Unavailable {
                print("herald-bench: the scale-out phases need CPU caps: \(unavailable)")
                throw ExitCode(2)
            }
        }
        let directory = try Bench.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let backend: Bench.Backend
        var runningClient: Task<Void, Never>?
        if let url = settings.databaseURL {
            let client = PostgresClient(
                configuration: try PostgresEventStore.configuration(url: url),
                backgroundLogger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
            runningClient = Task { await client.run() }
            backend = .postgres(client, schemas: SchemaList())
        } else {
            backend = .sqlite
        }
        let bench = Bench(directory: directory, settings: settings, backend: backend)
        let results: Results
        do {
            results = try await bench.runAll()
            try await bench.cleanUp()
        } catch {
            try? await bench.cleanUp()
            throw error
        }
        runningClient?.cancel()
        if settings.json {
            let data = try JSONSerialization.data(withJSONObject: results.json, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(results.table)
        }
    }
}

struct Results {
    var values: [(String, Double)] = []
    var notes: [String: String] = [:]

    mutating func set(_ key: String, _ value: Double) { values.append((key, value)) }

    /// The last value set under `key`.
    func value(_ key: String) -> Double? { values.last { $0.0 == key }?.1 }

    var json: [String: Any] {
        var object: [String: Any] = notes
        for (key, value) in values { object[key] = (value * 1000).rounded() / 1000 }
        return object
    }

    var table: String {
        var lines = ["Herald on \(notes["store"] ?? "") — \(notes["machine"] ?? "")", ""]
        for (key, value) in values { lines.append(key.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: "%14.3f", value)) }
        return lines.joined(separator: "\n")
    }
}

/// The schemas a PostgreSQL run created, to drop at the end.
final class SchemaList: Sendable {
    private let names = Mutex<[String]>([])
    func add(_ name: String) { names.withLock { $0.append(name) } }
    var all: [String] { names.withLock { $0 } }
}

struct Bench {
    enum Backend {
        case sqlite
        case postgres(PostgresClient, schemas: SchemaList)
    }

    let directory: String
    let settings: HeraldBench.Settings
    let backend: Backend
    let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })

    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent("\(name)-\(UUID().uuidString).sqlite") }

    func runAll() async throws -> Results {
        var results = Results()
        results.notes["machine"] = "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB"
        let modes: [SQLiteEventStore.Options.Synchronous]
        switch backend {
        case .sqlite:
            results.notes["store"] = "SQLite (WAL)"
            results.notes["sqlite"] = "WAL; synchronous NORMAL unless suffixed _full"
            modes = [.normal, .full]
        case .postgres(let client, _):
            results.notes["store"] = "PostgreSQL"
            let rows = try await client.query("SELECT version(), current_setting('synchronous_commit')", logger: logger)
            for try await (version, synchronousCommit) in rows.decode((String, String).self) {
                results.notes["postgres"] = "\(version.prefix(while: { $0 != "," })); synchronous_commit=\(synchronousCommit)"
            }
            modes = [.normal]
        }

        // Commit throughput: raw and unit of work measured back to back in five rounds. The
        // ratio is the median of the per-round ratios, so drift in disk and CPU speed on this
        // shared machine hits both sides of each pair alike.
        //
        // On SQLite the baseline is SQLite itself: one-row INSERT transactions through its
        // C API on one thread (`raw_c_commits_per_s`), and `uow_vs_raw` is against that.
        // `raw_c_uow_commits_per_s` is the unit of work's own statements through the C API
        // (four B-trees written where the one-row insert writes one), and `uow_vs_raw_c_uow`
        // what Herald adds to them; `raw_c_uow_vs_raw` is the most `uow_vs_raw` could be.
        // `raw_commits_per_s` is the one-row INSERT through GRDB's `DatabasePool.write`
        // (async, on its writer queue), with `uow_vs_raw_grdb` the old ratio. `fsync_per_s`
        // is the disk's rate of 4 KiB written and fdatasynced, what FULL commits wait for.
        for synchronous in modes {
            let count = synchronous == .normal ? settings.commits : settings.fullCommits
            var rawC: [Double] = [], rawCUnits: [Double] = [], raw: [Double] = [], uow: [Double] = []
            var ratios: [Double] = [], grdbRatios: [Double] = [], unitRatios: [Double] = [], floorRatios: [Double] = []
            var fsyncs: [Double] = []
            for _ in 0..<5 {
                if case .sqlite = backend {
                    rawC.append(try Baselines.rawCCommitsPerSecond(path: path("raw-c"), count: count, synchronous: synchronous))
                    rawCUnits.append(try Baselines.unitOfWorkCCommitsPerSecond(path: path("raw-c-uow"), count: count, synchronous: synchronous))
                    if synchronous == .full { fsyncs.append(try Baselines.fsyncsPerSecond(path: path("fsync"), count: count)) }
                }
                raw.append(try await rawCommits(count, synchronous))
                uow.append(try await unitOfWorkCommits(count, synchronous))
                ratios.append(uow.last! / (rawC.last ?? raw.last!))
                grdbRatios.append(uow.last! / raw.last!)
                if let floor = rawCUnits.last, let rawC = rawC.last {
                    unitRatios.append(uow.last! / floor)
                    floorRatios.append(floor / rawC)
                }
            }
            let suffix = synchronous == .normal ? "" : "_full"
            if !rawC.isEmpty {
                results.set("raw_c_commits_per_s" + suffix, median(rawC))
                results.set("raw_c_uow_commits_per_s" + suffix, median(rawCUnits))
                results.set("raw_c_uow_vs_raw" + suffix, median(floorRatios))
                results.set("uow_vs_raw_c_uow" + suffix, median(unitRatios))
                results.set("uow_vs_raw_grdb" + suffix, median(grdbRatios))
            }
            if !fsyncs.isEmpty { results.set("fsync_per_s", median(fsyncs)) }
            results.set("raw_commits_per_s" + suffix, median(raw))
            results.set("uow_commits_per_s" + suffix, median(uow))
            results.set("uow_vs_raw" + suffix, median(ratios))
        }

        // The same units of work from 64 committers at once: on SQLite the writer commits
        // what queued meanwhile in one transaction (one sync for the group). Both modes
        // commit the same number (about a second's work), and they alternate round by
        // round: `uow_full_64_vs_64`, the median of each round's FULL over its NORMAL,
        // compares them on the disk of the same minute (its fsync rate swings within minutes).
        // On SQLite each round also runs the unit of work's statements through the C API in
        // transactions of 32 (about the groups the writer forms here) in both modes:
        // `raw_c_uow_full_vs_normal_g32` is what SQLite itself keeps of NORMAL under FULL.
        var concurrent: [SQLiteEventStore.Options.Synchronous: [Double]] = [:]
        var groups: [SQLiteEventStore.Options.Synchronous: [Double]] = [:], groupsP99 = groups
        var fullOverNormal: [Double] = [], cGroupFullOverNormal: [Double] = []
        for _ in 0..<3 {
            var rates: [SQLiteEventStore.Options.Synchronous: Double] = [:], cRates = rates
            for synchronous in modes {
                if case .sqlite = backend {
                    cRates[synchronous] = try Baselines.unitOfWorkCCommitsPerSecond(
                        path: path("raw-c-uow-g32"), count: settings.commits * 4, synchronous: synchronous, group: 32)
                }
                let round = try await concurrentUnitOfWorkCommits(settings.commits * 4, synchronous, committers: 64)
                rates[synchronous] = round.perSecond
                concurrent[synchronous, default: []].append(round.perSecond)
                if let written = round.groups {
                    groups[synchronous, default: []].append(written.mean)
                    groupsP99[synchronous, default: []].append(Double(written.size(atPercentile: 99)))
                }
            }
            if let normal = rates[.normal], let full = rates[.full] { fullOverNormal.append(full / normal) }
            if let normal = cRates[.normal], let full = cRates[.full] { cGroupFullOverNormal.append(full / normal) }
        }
        if !cGroupFullOverNormal.isEmpty { results.set("raw_c_uow_full_vs_normal_g32", median(cGroupFullOverNormal)) }
        for synchronous in modes {
            let suffix = synchronous == .normal ? "_64" : "_full_64"
            results.set("uow_commits_per_s" + suffix, median(concurrent[synchronous] ?? []))
            if let sizes = groups[synchronous], let p99 = groupsP99[synchronous] {
                results.set("group_size_mean" + suffix, median(sizes))
                results.set("group_size_p99" + suffix, median(p99))
            }
        }
        if !fullOverNormal.isEmpty { results.set("uow_full_64_vs_64", median(fullOverNormal)) }
        if case .postgres(let client, _) = backend, let url = settings.databaseURL {
            // The same statement from 64 pgbench clients, in this run: the server's ceiling for
            // it; and the same without its NOTIFY, alternating: what the notification costs.
            let store = try await makeStore("ceiling")
            guard let schema = (store as? PostgresEventStore)?.options.schema else { throw BenchFailure(description: "no PostgreSQL schema") }
            try await PostgresCeiling.silentCopy(schema: schema, client: client, logger: logger)
            var notifying: [Double] = [], silent: [Double] = []
            for _ in 0..<2 {
                notifying.append(try await offThePool { try PostgresCeiling.commitsPerSecond(url: url, schema: schema, clients: 64, transactions: 200) })
                silent.append(try await offThePool {
                    try PostgresCeiling.commitsPerSecond(url: url, schema: schema, function: "herald_commit_silent", clients: 64, transactions: 200)
                })
            }
            results.set("pgbench_herald_commit_per_s_64", median(notifying))
            results.set("pgbench_herald_commit_without_notify_per_s_64", median(silent))
            if let herald = results.value("uow_commits_per_s_64") { results.set("uow_64_vs_pgbench_herald_commit_64", herald / median(notifying)) }
            results.notes["pgbench_herald_commit_per_s_64"] = "pgbench -M prepared -c 64 -j 2 -t 200 calling herald_commit with one new "
                + "aggregate and one event, median of 2 (alternating with a copy of herald_commit without its pg_notify)"
        }
        results.set("batch_events_per_s", try await batchedEvents(transactions: 200, perTransaction: 100))
        results.set("drain_events_per_s", try await drain(backlog: settings.backlog))
        if case .postgres = backend {
            // Rounds of 1, 2 and 3 consumers in turn, each figure the median of its rounds: one
            // drain alone moved by ±10% with what else the machine did.
            var rates: [Int: [Double]] = [:], busy: [Int: [Double]] = [:]
            for _ in 0..<settings.scaleRounds {
                for consumers in 1...3 {
                    let cpu = CPUTimes.now()
                    let drained = try await scaleOutDrain(consumers: consumers, partitions: 6, events: settings.scaleEvents)
                    rates[consumers, default: []].append(drained.perSecond)
                    busy[consumers, default: []].append(CPUTimes.now().busyFraction(since: cpu))
                }
            }
            for consumers in 1...3 {
                results.set("drain_events_per_s_capped_\(consumers)", median(rates[consumers] ?? []))
                results.set("drain_cpu_busy_capped_\(consumers)", median(busy[consumers] ?? []))
            }
            let one = median(rates[1] ?? [])
            if one > 0 {
                results.set("drain_capped_2_vs_1", median(rates[2] ?? []) / one)
                results.set("drain_capped_3_vs_1", median(rates[3] ?? []) / one)
            }
            // The price of partitions: one consumer, the same handler, partitioned (6) or not.
            let partitioned = try await scaleOutDrain(consumers: 1, partitions: 6, events: settings.scaleEvents)
            let unpartitioned = try await scaleOutDrain(consumers: 1, partitions: 0, events: settings.scaleEvents)
            results.set("events_per_consumer_cpu_s_partitioned", partitioned.perConsumerCPUSecond)
            results.set("events_per_consumer_cpu_s_unpartitioned", unpartitioned.perConsumerCPUSecond)
            results.set("partitioned_vs_unpartitioned_per_cpu_s", partitioned.perConsumerCPUSecond / unpartitioned.perConsumerCPUSecond)
            results.notes["drain_events_per_s_capped_n"] = "median of \(settings.scaleRounds) rounds of \(settings.scaleEvents) events on 600 streams, 6 partitions, "
                + "handler loads and saves 2 aggregates per event, batches of 50; N consumer processes, each capped at "
                + "\(settings.consumerCPU) of a core (a cgroup each); PostgreSQL and the writer uncapped"
        }
        let (latency, commits) = try await latency(seconds: settings.latencySeconds, rate: settings.rate)
        results.set("latency_p50_ms", latency.valueAtPercentile(50) .milliseconds)
        results.set("latency_p99_ms", latency.valueAtPercentile(99).milliseconds)
        results.set("latency_p999_ms", latency.valueAtPercentile(99.9).milliseconds)
        results.set("latency_samples", Double(latency.totalCount))
        // The commit's own share (start of `commit()` to its return), the same commits.
        results.set("latency_commit_p50_ms", commits.valueAtPercentile(50).milliseconds)
        results.set("latency_commit_p99_ms", commits.valueAtPercentile(99).milliseconds)
        results.set("latency_commit_p999_ms", commits.valueAtPercentile(99.9).milliseconds)
        results.set("rss_mb_peak", peakResidentMegabytes())
        return results
    }

    /// The baseline: one one-row INSERT per transaction, through GRDB or PostgresNIO.
    func rawCommits(_ count: Int, _ synchronous: SQLiteEventStore.Options.Synchronous) async throws -> Double {
        if case .postgres(let client, let schemas) = backend {
            let schema = "bench_raw_" + UUID().uuidString.prefix(8).lowercased()
            schemas.add(schema)
            try await client.query("CREATE SCHEMA \(unescaped: schema)", logger: logger)
            try await client.query(
                "CREATE TABLE \(unescaped: schema).raw (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload bytea NOT NULL)",
                logger: logger)
            let payload = Data(repeating: 7, count: 64)
            return try await perSecond(count) {
                // An autocommit INSERT: one statement, one transaction, one round trip.
                _ = try await client.query("INSERT INTO \(unescaped: schema).raw (payload) VALUES (\(payload))", logger: logger).collect()
            }
        }
        let pool = try DatabasePool(path: path("raw"))
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)")
            try db.execute(sql: "CREATE TABLE raw (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        }
        let payload = Data(repeating: 7, count: 64)
        return try await perSecond(count) {
            try await pool.write { try $0.execute(sql: "INSERT INTO raw (payload) VALUES (?)", arguments: [payload]) }
        }
    }

    /// Unit of work: one new aggregate and one event per transaction.
    func unitOfWorkCommits(_ count: Int, _ synchronous: SQLiteEventStore.Options.Synchronous) async throws -> Double {
        let engine = HeraldEngine(store: try await makeStore("uow", synchronous), logger: logger)
        var index = 0
        return try await perSecond(count) {
            index += 1
            try await Self.openAccount(index, engine)
        }
    }

    /// `--only-commits N`: `N` units of work of ``openAccount(_:_:)`` one after another on a
    /// new SQLite file at the store's default durability (or the same statements through
    /// SQLite's C API), and nothing else, so that an instruction counter run over two
    /// counts gives the instructions of one commit by difference.
    static func onlyCommits(_ count: Int, rawC: Bool) async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/commits.sqlite"
        if rawC {
            _ = try Baselines.unitOfWorkCCommitsPerSecond(path: path, count: count, synchronous: SQLiteEventStore.Options().synchronous)
            return
        }
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let engine = HeraldEngine(store: try SQLiteEventStore(path: path), logger: logger)
        for index in 0..<count { try await openAccount(index, engine) }
    }

    /// A new, empty directory of this run's under the system's temporary one; the caller removes it.
    static func scratchDirectory() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// The unit of work the commit-rate phases time: one new aggregate, one event.
    static func openAccount(_ index: Int, _ engine: HeraldEngine) async throws {
        let work = engine.unitOfWork()
        var account = BenchAccount(id: "a\(index)")
        account.deposit(100)
        try work.save(&account)
        try await work.commit()
    }

    /// ``unitOfWorkCommits(_:_:)`` from `committers` tasks at once, `count` in all; with the
    /// SQLite store's write groups over the run.
    func concurrentUnitOfWorkCommits(
        _ count: Int, _ synchronous: SQLiteEventStore.Options.Synchronous, committers: Int
    ) async throws -> (perSecond: Double, groups: WriteGroupStatistics?) {
        let store = try await makeStore("uow64", synchronous)
        let engine = HeraldEngine(store: store, logger: logger)
        let sqlite = store as? SQLiteEventStore
        let before = sqlite?.writeGroups
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for committer in 0..<committers {
                group.addTask {
                    for index in stride(from: committer, to: count, by: committers) { try await Self.openAccount(index, engine) }
                }
            }
            try await group.waitForAll()
        }
        let rate = Double(count) / (ContinuousClock.now - start).timeInterval
        guard let sqlite, let before else { return (rate, nil) }
        return (rate, sqlite.writeGroups.since(before))
    }

    func batchedEvents(transactions: Int, perTransaction: Int) async throws -> Double {
        let engine = HeraldEngine(store: try await makeStore("batch"), logger: logger)
        let rate = try await perSecond(transactions) {
            let work = engine.unitOfWork()
            for index in 0..<perTransaction { try work.append(BenchDeposited(amount: index), to: StreamID(type: "Batch", id: "\(index % 10)")) }
            try await work.commit()
        }
        return rate * Double(perTransaction)
    }

    /// One transactional subscriber draining a backlog, writing one row (a new aggregate) per event.
    func drain(backlog: Int) async throws -> Double {
        let engine = HeraldEngine(store: try await makeStore("drain"), logger: logger)
        for start in stride(from: 0, to: backlog, by: 1000) {
            let work = engine.unitOfWork()
            for index in start..<min(backlog, start + 1000) {
                try work.append(BenchDeposited(amount: index), to: StreamID(type: "Account", id: "\(index % 500)"))
            }
            try await work.commit()
        }
        let subscription = Subscription(name: "projector", batchSize: 1000, handler: .transactional { delivery, work in
            var row = BenchAccount(id: "p\(delivery.envelope.position)")
            row.balance = delivery.envelope.streamVersion
            try work.save(&row)
        })
        let worker = try engine.worker(for: subscription)
        let start = ContinuousClock.now
        let report = try await worker.drain()
        let elapsed = (ContinuousClock.now - start).timeInterval
        guard report.handled == backlog else { throw BenchFailure(description: "the drain handled \(report.handled) of \(backlog) events") }
        return Double(backlog) / elapsed
    }

    /// What a scale-out drain measured.
    struct ScaleOutDrain {
        /// Events over the time from the first append until every checkpoint reached the head.
        var perSecond: Double
        /// CPU the consumer processes used meanwhile, in seconds, all of them together.
        var consumerCPUSeconds: Double
        var events: Int

        var perConsumerCPUSecond: Double { consumerCPUSeconds > 0 ? Double(events) / consumerCPUSeconds : 0 }
    }

    /// Scale-out on PostgreSQL: `consumers` processes, each in a cgroup of its own capped at
    /// ``Settings/consumerCPU`` of a core (standing in for nodes on machines of their own),
    /// share the subscription of `herald-crash-worker consume` (two aggregate loads and saves
    /// per event) in `partitions` partitions (0: unpartitioned, one consumer). Once the
    /// consumers have split the partitions, `events` events are appended in transactions of
    /// 500 (by this process, uncapped).
    func scaleOutDrain(consumers: Int, partitions: Int, events: Int) async throws -> ScaleOutDrain {
        guard case .postgres(let client, let schemas) = backend, let url = settings.databaseURL else { return ScaleOutDrain(perSecond: 0, consumerCPUSeconds: 0, events: 0) }
        precondition(partitions > 0 || consumers == 1, "an unpartitioned subscription has one consumer")
        let schema = "bench_scale_" + UUID().uuidString.prefix(8).lowercased()
        schemas.add(schema)
        let store = try PostgresEventStore(client: client, options: .init(schema: schema), logger: logger)
        try await store.migrate()
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("herald-crash-worker")
        var processes: [Process] = []
        var caps: [CPUCap] = []
        defer {
            for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
            for process in processes { process.waitUntilExit() }
            for cap in caps { cap.remove() }
        }
        for node in 1...consumers {
            let process = Process()
            process.executableURL = executable
            process.arguments = ["consume", url, schema, "node-\(node)", "\(partitions)", "3000"]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            processes.append(process)
            let cap = try CPUCap.make(prefix: "herald-bench", cores: settings.consumerCPU)
            caps.append(cap)
            try cap.add(process.processIdentifier)
        }
        if partitions > 0 {
            try await waitUntil("the consumers split the partitions") {
                let owners = try await store.leases(subscription: "effects-p").filter { $0.expiresAt > Date() }.map(\.owner)
                return owners.count == partitions && Set(owners).count == consumers && Set(owners.map { o in owners.count { $0 == o } }).count == 1
            }
        } else {
            try await waitUntil("the consumer starts") { try await store.checkpoints()["effects-p"] != nil }
        }
        let engine = HeraldEngine(store: store, logger: logger)
        func consumerCPU() -> Duration { processes.compactMap { cpuTime(of: $0.processIdentifier) }.reduce(.zero, +) }
        let cpuBefore = consumerCPU()
        let start = ContinuousClock.now
        for first in stride(from: 0, to: events, by: 500) {
            let work = engine.unitOfWork()
            for index in first..<min(events, first + 500) {
                try work.append(BenchDeposited(amount: index), to: StreamID(type: "Account", id: "\(index % 600)"))
            }
            try await work.commit()
        }
        let head = try await store.headPosition()
        try await waitUntil("the consumers drain the log") {
            let checkpoints = try await store.checkpoints().filter { $0.key == "effects-p" || $0.key.hasPrefix("effects-p#") }
            return checkpoints.count == max(1, partitions) && checkpoints.values.allSatisfy { $0 >= head }
        }
        let elapsed = (ContinuousClock.now - start).timeInterval
        return ScaleOutDrain(perSecond: Double(events) / elapsed, consumerCPUSeconds: (consumerCPU() - cpuBefore).timeInterval, events: events)
    }

    /// Polls every 25 ms (more often costs CPU the consumers need); fails after 10 minutes.
    func waitUntil(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(600)
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw BenchFailure(description: "timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(25))
        }
    }

    /// Latency from the start of `commit()` to the start of the handler, at a steady rate,
    /// with the service running as in production.
    func latency(seconds: Int, rate: Int) async throws -> (handler: Histogram<UInt64>, commit: Histogram<UInt64>) {
        let engine = HeraldEngine(store: try await makeStore("latency"), logger: logger)
        let starts = LatencyRecorder()
        let subscription = Subscription(name: "latency", handler: .external(inbox: false) { delivery in
            starts.handlerStarted(delivery.envelope.eventID)
        })
        let service = try engine.service(subscriptions: [subscription])
        let running = Task { try await service.run() }
        let interval = Duration.seconds(1) / rate
        let clock = ContinuousClock()
        var next = clock.now
        for index in 0..<(seconds * rate) {
            next += interval
            try await clock.sleep(until: next)
            let work = engine.unitOfWork()
            let event = BenchDeposited(amount: index)
            try work.append(event, to: StreamID(type: "Latency", id: "\(index % 100)"))
            let began = DispatchTime.now().uptimeNanoseconds
            let recorded = try await work.commit()
            starts.commitStarted(recorded[0].eventID, at: began, returnedAfter: DispatchTime.now().uptimeNanoseconds - began)
        }
        let deadline = clock.now + .seconds(30)
        while starts.pending > 0 && clock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        precondition(starts.pending == 0, "\(starts.pending) events never reached the handler")
        running.cancel()
        _ = await running.result
        return (starts.histogram, starts.commitHistogram)
    }

    /// A new, empty store: a new SQLite file, or a new PostgreSQL schema.
    func makeStore(_ name: String, _ synchronous: SQLiteEventStore.Options.Synchronous = .normal) async throws -> any EventStore {
        switch backend {
        case .sqlite:
            return try SQLiteEventStore(path: path(name), options: .init(synchronous: synchronous))
        case .postgres(let client, let schemas):
            let schema = "bench_\(name)_" + UUID().uuidString.prefix(8).lowercased()
            schemas.add(schema)
            let store = try PostgresEventStore(client: client, options: .init(schema: schema), logger: logger)
            try await store.migrate()
            return store
        }
    }

    /// Drops the PostgreSQL schemas this run created.
    func cleanUp() async throws {
        guard case .postgres(let client, let schemas) = backend else { return }
        for schema in schemas.all { try await client.query("DROP SCHEMA \(unescaped: schema) CASCADE", logger: logger) }
    }

    func perSecond(_ count: Int, _ body: () async throws -> Void) async throws -> Double {
        let start = ContinuousClock.now
        for _ in 0..<count { try await body() }
        return Double(count) / (ContinuousClock.now - start).timeInterval
    }
}

/// Matches commit starts with handler starts, whichever is seen first.
final class LatencyRecorder: Sendable {
    private struct State {
        var commits: [UUID: UInt64] = [:]
        var handlers: [UUID: UInt64] = [:]
        var samples = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        /// How long `commit()` itself took: the part of the latency no delivery path can save.
        var commitDurations = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        var expected = 0

        mutating func record(_ nanoseconds: UInt64) { _ = samples.record(max(1, nanoseconds / 1000)) }  // microseconds
    }

    private let state = Mutex(State())

    func commitStarted(_ id: UUID, at began: UInt64, returnedAfter duration: UInt64) {
        state.withLock { state in
            state.expected += 1
            _ = state.commitDurations.record(max(1, duration / 1000))
            if let handled = state.handlers.removeValue(forKey: id) {
                state.record(handled - min(handled, began))
            } else {
                state.commits[id] = began
            }
        }
    }

    func handlerStarted(_ id: UUID) {
        let now = DispatchTime.now().uptimeNanoseconds
        state.withLock { state in
            if let began = state.commits.removeValue(forKey: id) {
                state.record(now - min(now, began))
            } else {
                state.handlers[id] = now
            }
        }
    }

    var pending: Int { state.withLock { $0.expected - Int($0.samples.totalCount) } }
    var histogram: Histogram<UInt64> { state.withLock { $0.samples } }
    var commitHistogram: Histogram<UInt64> { state.withLock { $0.commitDurations } }
}

struct BenchAccount: AggregateRoot {
    static let streamType = "Account"
    let id: String
    var balance: Int64 = 0
    var pendingEvents = PendingEvents()

    mutating func deposit(_ amount: Int) {
        balance += Int64(amount)
        record(BenchDeposited(amount: amount))
    }
}

struct BenchFailure: Error, CustomStringConvertible { let description: String }

struct BenchDeposited: DomainEvent { static let eventType = "bench.Deposited"; var amount: Int }

/// The machine's CPU time from `/proc/stat`, to tell a drain that waits from one that
/// has every core busy.
struct CPUTimes {
    var busy: Double = 0
    var total: Double = 0

    static func now() -> CPUTimes {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") })
        else { return CPUTimes() }
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 5 else { return CPUTimes() }
        let total = fields.reduce(0, +)
        return CPUTimes(busy: total - fields[3] - fields[4], total: total)  // idle and iowait are not busy
    }

    /// The share of all cores' time spent busy since `start` (0 to 1).
    func busyFraction(since start: CPUTimes) -> Double {
        total > start.total ? (busy - start.busy) / (total - start.total) : 0
    }
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func peakResidentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kilobytes / 1024
}

extension UInt64 {
    /// Microseconds as milliseconds.
    var milliseconds: Double { Double(self) / 1000 }
}

/// Runs blocking work (a child process waited for) on a thread of its own, not one of the
/// cooperative pool's two.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}
