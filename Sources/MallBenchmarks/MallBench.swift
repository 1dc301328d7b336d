import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Herald
import HeraldSQLite
import Histogram
import Logging

/// `mall-bench`: Mall's end-to-end numbers, measured in one run against a real
/// `mall serve` child process on loopback, next to Herald's unit-of-work commit rate on the
/// same database settings.
///
/// 1. `orders_per_s_end_to_end`: N orders from `POST /orders` until every one awaits payment
///    (stock reserved by Inventory's subscription, the order moved on by Ordering's), with C
///    concurrent clients.
/// 2. `post_orders_p50_ms` / `_p99_ms`: `POST /orders` latency at a fixed offered rate,
///    open loop (each request's latency counts from when it was due, so a stall is not hidden).
/// 3. `uow_commits_per_s`: Herald unit-of-work commits on a SQLite file with the same options,
///    and the ratio of the two.
///
/// 4. With `--stages`, instead: what each stage of an order costs in process (``StageBench``).
/// 5. With `--login-storm`, instead: `GET /products` latency, quiet and while 64 clients log
///    in continuously (``LoginStorm``), at `--rate` for `--seconds` each.
///
/// `mall-bench [--orders N] [--concurrency C] [--rate R] [--seconds S] [--json] [--stages | --login-storm]`
@main
struct MallBench {
    struct Settings {
        var orders = 3000
        var concurrency = 32
        var rate = 200.0
        var seconds = 10.0
        var members = 64
        var json = false
        var stages = false
        var loginStorm = false
    }

    static let usage = "usage: mall-bench [--orders N] [--concurrency C] [--rate R] [--seconds S] [--json] [--stages | --login-storm]"

    /// Any failure is one line on standard error and exit status 1, never a crash report.
    static func main() async {
        do {
            try await run()
        } catch {
            FileHandle.standardError.write(Data("mall-bench: \(error)\n".utf8))
            exit(1)
        }
    }

    static func run() async throws {
        let settings: Settings
        do {
            settings = try parse(CommandLine.arguments.dropFirst())
        } catch {
            FileHandle.standardError.write(Data("mall-bench: \(error)\n\(usage)\n".utf8))
            exit(2)
        }
        if settings.stages {
            report(try await StageBench.run(orders: settings.orders, members: settings.members), json: settings.json)
            return
        }
        if settings.loginStorm {
            report(try await LoginStorm.run(rate: settings.rate, seconds: settings.seconds), json: settings.json)
            return
        }
        let server = try await ServerProcess.start()
        defer { server.stop() }
        let client = BenchClient(baseURL: server.baseURL, connections: settings.concurrency)
        let members = try await client.members(settings.members)
        for sku in skus { try await client.receiveStock(sku: sku, quantity: 1_000_000) }
        try await client.waitUntilCaughtUp()
        var results: [(String, Double)] = []

        // 1. End to end.
        let load = LoadGenerator(port: server.baseURL.port!, tokens: members, skus: skus)
        let cpuBefore = server.cpuTime()
        let start = ContinuousClock.now
        try await load.placeOrders(total: settings.orders, connections: settings.concurrency)
        let submitted = ContinuousClock.now
        try await client.waitUntilCaughtUp()
        let settled = ContinuousClock.now
        let cpuAfter = server.cpuTime()
        let stored = try await client.storedOrderCount()
        guard stored >= settings.orders else { throw BenchError("only \(stored) of \(settings.orders) orders stored") }
        results.append(("orders_per_s_submitted", Double(settings.orders) / (submitted - start).seconds))
        results.append(("orders_per_s_end_to_end", Double(settings.orders) / (settled - start).seconds))
        if let cpuBefore, let cpuAfter {
            // What an order costs the server, whatever the host's speed at the moment: the
            // CPU time of the whole end-to-end phase (both cores), per order.
            results.append(("server_cpu_ms_per_order", (cpuAfter - cpuBefore).seconds * 1000 / Double(settings.orders)))
            results.append(("server_cores_busy", (cpuAfter - cpuBefore).seconds / (settled - start).seconds))
        }

        // 2. Latency at a fixed offered rate.
        let histogram = try await load.latencyAtFixedRate(rate: settings.rate, seconds: settings.seconds)
        results.append(("post_orders_offered_rps", settings.rate))
        results.append(("post_orders_p50_ms", Double(histogram.valueAtPercentile(50)) / 1000))
        results.append(("post_orders_p99_ms", Double(histogram.valueAtPercentile(99)) / 1000))
        results.append(("post_orders_samples", Double(histogram.totalCount)))
        try await client.waitUntilCaughtUp()

        // 3. Herald's unit of work on the same SQLite settings, in the same run.
        let uow = try await unitOfWorkCommitsPerSecond(count: 3000)
        results.append(("uow_commits_per_s", uow))
        results.append(("orders_end_to_end_vs_uow_commits", results[1].1 / uow))

        report(results, json: settings.json)
    }

    static func report(_ results: [(String, Double)], json: Bool) {
        if json {
            let body = results.map { "  \"\($0.0)\": \(String(format: "%.3f", $0.1))" }.joined(separator: ",\n")
            print("{\n\(body)\n}")
        } else {
            for (key, value) in results { print("\(key): \(String(format: "%.2f", value))") }
        }
    }

    static let skus = ["tea-jasmine", "tea-oolong", "coffee-beans", "cocoa", "mug-stone", "teapot", "book-ddd", "book-swift",
                       "pen-fountain", "ink-blue", "notebook-a5", "bottle-steel", "headlamp", "stove-camp", "board-oak", "knife-chef"]

    static func unitOfWorkCommitsPerSecond(count: Int) async throws -> Double {
        let file = TemporarySQLiteFile("mall-bench-uow")
        defer { file.remove() }
        let engine = HeraldEngine(store: try SQLiteEventStore(path: file.path), logger: quietLogger)
        let start = ContinuousClock.now
        for index in 0..<count {
            let work = engine.unitOfWork()
            var counter = BenchCounter(id: "c\(index)")
            counter.bump()
            try work.save(&counter)
            try await work.commit()
        }
        return Double(count) / (ContinuousClock.now - start).seconds
    }

    static func parse(_ arguments: ArraySlice<String>) throws -> Settings {
        var settings = Settings()
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            func value() throws -> String {
                guard let value = iterator.next() else { throw BenchError("\(argument) needs a value") }
                return value
            }
            func positive(_ text: String) throws -> Int {
                guard let number = Int(text), number > 0 else { throw BenchError("\(argument): a positive integer, not \(text)") }
                return number
            }
            switch argument {
            case "--orders": settings.orders = try positive(try value())
            case "--concurrency": settings.concurrency = try positive(try value())
            case "--rate": settings.rate = Double(try positive(try value()))
            case "--seconds": settings.seconds = Double(try positive(try value()))
            case "--json": settings.json = true
            case "--stages": settings.stages = true
            case "--login-storm": settings.loginStorm = true
            case "--help", "-h":
                print(usage)
                exit(0)
            default: throw BenchError("unknown argument \(argument)")
            }
        }
        return settings
    }
}

struct BenchCounter: AggregateRoot {
    static let streamType = "BenchCounter"
    let id: String
    var count = 0
    var pendingEvents = PendingEvents()

    mutating func bump() {
        count += 1
        record(CounterBumped(count: count))
    }
}

struct CounterBumped: DomainEvent {
    static let eventType = "CounterBumped"
    var count: Int
}

/// A SQLite file in the temporary directory; ``remove()`` deletes it with its WAL and index.
struct TemporarySQLiteFile {
    let path: String

    init(_ prefix: String) {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString).sqlite").path
    }

    func remove() {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
}

/// The benchmarks' in-process engines log nothing.
let quietLogger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
