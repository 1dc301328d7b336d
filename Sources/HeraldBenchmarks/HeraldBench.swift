import Foundation
import GRDB
import Herald
import HeraldSQLite
import Histogram
import Logging
import Synchronization

/// `herald-bench [--json] [--events N] [--latency-seconds S] [--commits N]`
///
/// Measures Herald on SQLite next to plain GRDB on the same settings, in the same run, so
/// the ratios mean something on a machine whose disk speed swings by 100×.
@main
struct HeraldBench {
    struct Settings {
        var json = false
        var commits = 4000
        var fullCommits = 400
        var backlog = 100_000
        var latencySeconds = 10
        var rate = 1000
    }

    static func main() async throws {
        var settings = Settings()
        var arguments = CommandLine.arguments.dropFirst()
        while let argument = arguments.popFirst() {
            func value() -> Int {
                guard let text = arguments.popFirst(), let number = Int(text), number > 0 else {
                    FileHandle.standardError.write(Data("herald-bench: \(argument) needs a positive integer\n".utf8))
                    exit(64)
                }
                return number
            }
            switch argument {
            case "--json": settings.json = true
            case "--commits": settings.commits = value()
            case "--events": settings.backlog = value()
            case "--latency-seconds": settings.latencySeconds = value()
            default:
                FileHandle.standardError.write(Data("usage: herald-bench [--json] [--commits N] [--events N] [--latency-seconds S]\n".utf8))
                exit(64)
            }
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bench = Bench(directory: directory, settings: settings)
        let results = try await bench.runAll()
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

    var json: [String: Any] {
        var object: [String: Any] = notes
        for (key, value) in values { object[key] = (value * 1000).rounded() / 1000 }
        return object
    }

    var table: String {
        var lines = ["Herald on SQLite (WAL) — \(notes["machine"] ?? "")", ""]
        for (key, value) in values { lines.append(key.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: "%14.3f", value)) }
        return lines.joined(separator: "\n")
    }
}

struct Bench {
    let directory: String
    let settings: HeraldBench.Settings
    let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })

    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent("\(name)-\(UUID().uuidString).sqlite") }

    func runAll() async throws -> Results {
        var results = Results()
        results.notes["machine"] = "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB"
        results.notes["sqlite"] = "WAL; synchronous NORMAL unless suffixed _full"

        // Commit throughput: raw and unit of work measured back to back in five rounds. The
        // ratio is the median of the per-round ratios, so drift in disk and CPU speed on this
        // shared machine hits both sides of each pair alike.
        for synchronous in [SQLiteEventStore.Options.Synchronous.normal, .full] {
            let count = synchronous == .normal ? settings.commits : settings.fullCommits
            var raw: [Double] = [], uow: [Double] = [], ratios: [Double] = []
            for _ in 0..<5 {
                raw.append(try await rawCommits(count, synchronous))
                uow.append(try await unitOfWorkCommits(count, synchronous))
                ratios.append(uow.last! / raw.last!)
            }
            let suffix = synchronous == .normal ? "" : "_full"
            results.set("raw_commits_per_s" + suffix, median(raw))
            results.set("uow_commits_per_s" + suffix, median(uow))
            results.set("uow_vs_raw" + suffix, median(ratios))
        }
        results.set("batch_events_per_s", try await batchedEvents(transactions: 200, perTransaction: 100))
        results.set("drain_events_per_s", try await drain(backlog: settings.backlog))
        let latency = try await latency(seconds: settings.latencySeconds, rate: settings.rate)
        results.set("latency_p50_ms", latency.valueAtPercentile(50) .milliseconds)
        results.set("latency_p99_ms", latency.valueAtPercentile(99).milliseconds)
        results.set("latency_p999_ms", latency.valueAtPercentile(99.9).milliseconds)
        results.set("latency_samples", Double(latency.totalCount))
        results.set("rss_mb_peak", peakResidentMegabytes())
        return results
    }

    /// Plain GRDB: one one-row INSERT per write transaction.
    func rawCommits(_ count: Int, _ synchronous: SQLiteEventStore.Options.Synchronous) async throws -> Double {
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
        let engine = HeraldEngine(store: try SQLiteEventStore(path: path("uow"), options: .init(synchronous: synchronous)), logger: logger)
        var index = 0
        return try await perSecond(count) {
            index += 1
            let work = engine.unitOfWork()
            var account = BenchAccount(id: "a\(index)")
            account.deposit(100)
            try work.save(&account)
            try await work.commit()
        }
    }

    func batchedEvents(transactions: Int, perTransaction: Int) async throws -> Double {
        let engine = HeraldEngine(store: try SQLiteEventStore(path: path("batch")), logger: logger)
        let rate = try await perSecond(transactions) {
            let work = engine.unitOfWork()
            for index in 0..<perTransaction { try work.append(BenchDeposited(amount: index), to: StreamID(type: "Batch", id: "\(index % 10)")) }
            try await work.commit()
        }
        return rate * Double(perTransaction)
    }

    /// One transactional subscriber draining a backlog, writing one row (a new aggregate) per event.
    func drain(backlog: Int) async throws -> Double {
        let engine = HeraldEngine(store: try SQLiteEventStore(path: path("drain")), logger: logger)
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
        precondition(report.handled == backlog, "drained \(report.handled) of \(backlog)")
        return Double(backlog) / elapsed
    }

    /// Latency from the start of `commit()` to the start of the handler, at a steady rate,
    /// with the service running as in production.
    func latency(seconds: Int, rate: Int) async throws -> Histogram<UInt64> {
        let engine = HeraldEngine(store: try SQLiteEventStore(path: path("latency")), logger: logger)
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
            starts.commitStarted(recorded[0].eventID, at: began)
        }
        let deadline = clock.now + .seconds(30)
        while starts.pending > 0 && clock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        precondition(starts.pending == 0, "\(starts.pending) events never reached the handler")
        running.cancel()
        _ = await running.result
        return starts.histogram
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
        var expected = 0

        mutating func record(_ nanoseconds: UInt64) { _ = samples.record(max(1, nanoseconds / 1000)) }  // microseconds
    }

    private let state = Mutex(State())

    func commitStarted(_ id: UUID, at began: UInt64) {
        state.withLock { state in
            state.expected += 1
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

struct BenchDeposited: DomainEvent { static let eventType = "bench.Deposited"; var amount: Int }

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
