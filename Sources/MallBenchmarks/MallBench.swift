import ArgumentParser
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
/// 6. With `--catalog`, instead: the shop at 100,000 products (``CatalogBench``).
/// 7. With `--governance`, instead: what the breaker, rate limiter and bulkhead cost a call,
///    and orders end to end with the ingress limits on and off (``GovernanceBench``).
/// 8. With `--jobs`, instead: the job scheduler's cost per item, and `mall reconcile`
///    (with and without `--repair`) over `--reconcile-orders` orders (``JobsBench``).
/// 9. With `--metrics`, `--tracing` or `--durability`, instead: orders end to end with the
///    setting on and off (durability: full and normal), alternating (``onVersusOff``).
/// 10. With `--database postgres://…`, instead: orders end to end on 1 … `--nodes` nodes on
///    that database, each capped at `--node-cpu` of a core (``ScaleOutBench``); with
///    `--reconcile` too, `mall reconcile` over `--reconcile-orders` orders there
///    (``PostgresReconcileBench``).
@main
struct MallBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mall-bench", abstract: "Mall's end-to-end numbers against a real `mall serve` on loopback.")

    @Option(help: "Orders to place end to end.") var orders = 3000
    @Option(help: "Concurrent connections.") var concurrency = 32
    @Option(help: "Offered rate (requests per second) of the fixed-rate phases.") var rate = 200.0
    @Option(help: "Seconds each fixed-rate or closed-loop phase runs.") var seconds = 10.0
    @Option(help: "Products of the --catalog shop.") var products = 100_000
    @Option(help: "Orders the --catalog run reconciles.") var reconcileOrders = 100_000
    @Option(help: "Product edits the --catalog run times at each size.") var edits = 500
    @Option(help: "Keep the --catalog or --jobs shop's SQLite file at this path (to serve it again by hand); with --database --reconcile, the PostgreSQL schema of this name.") var keep: String?
    @Option(help: "A PostgreSQL URL: measure orders end to end on 1 ... --nodes nodes on it, each capped at --node-cpu.") var database: String?
    @Option(help: "With --database: the most nodes (every count from 1 up is measured).") var nodes = 2
    @Option(help: "With --database: the share of one core each node may use.") var nodeCPU = 0.25
    @Option(help: "With --database: rounds of 1 ... --nodes nodes; medians are reported.") var rounds = 2
    @Option(help: "With --database: MALL_PARTITIONS for the nodes (their default when not given).") var partitions: Int?
    @Flag(help: "With --database: time `mall reconcile` over --reconcile-orders orders on PostgreSQL instead.") var reconcile = false
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "What each stage of an order costs in process.") var stages = false
    @Flag(help: "GET /products latency while 64 clients log in.") var loginStorm = false
    @Flag(help: "The shop at --products products: edits, listing, search, orders, reconciliation.") var catalog = false
    @Flag(help: "What governance costs: per call in process, and orders end to end with ingress limits on and off.") var governance = false
    @Flag(help: "The job scheduler's cost per item, and reconciliation over --reconcile-orders orders.") var jobs = false
    @Flag(help: "What metrics cost: orders end to end with MALL_METRICS on and off, alternating.") var metrics = false
    @Flag(help: "What tracing costs: orders end to end with MALL_TRACING on and off, alternating.") var tracing = false
    @Flag(help: "What durability costs: orders end to end with MALL_DURABILITY full and normal, alternating.") var durability = false

    static let members = 64

    func validate() throws {
        guard orders > 0, concurrency > 0, rate > 0, seconds > 0, products >= 1000, reconcileOrders > 0, edits > 0 else {
            throw ValidationError("--orders, --concurrency, --rate, --seconds, --reconcile-orders and --edits must be positive; --products at least 1000")
        }
        guard [stages, loginStorm, catalog, governance, jobs, metrics, tracing, durability, database != nil].count(where: { $0 }) <= 1 else {
            throw ValidationError("choose one of --stages, --login-storm, --catalog, --governance, --jobs, --metrics, --tracing, --durability, --database")
        }
        if let database {
            guard database.hasPrefix("postgres://") || database.hasPrefix("postgresql://") else {
                throw ValidationError("--database needs a postgres://user@host:port/database URL")
            }
            guard (1...8).contains(nodes), nodeCPU > 0, nodeCPU <= 2, rounds > 0 else {
                throw ValidationError("--nodes must be 1 ... 8, --node-cpu more than 0 and at most 2, --rounds positive")
            }
        }
    }

    func run() async throws {
        if stages {
            Self.report(try await StageBench.run(orders: orders, members: Self.members), json: json)
        } else if loginStorm {
            Self.report(try await LoginStorm.run(rate: rate, seconds: seconds), json: json)
        } else if catalog {
            let settings = CatalogBench.Settings(
                products: products, reconcileOrders: reconcileOrders, orders: orders, edits: edits, concurrency: concurrency, seconds: seconds, members: Self.members,
                keep: keep)
            Self.report(try await CatalogBench.run(settings), json: json)
        } else if jobs {
            Self.report(try await JobsBench.run(JobsBench.Settings(reconcileOrders: reconcileOrders, keep: keep)), json: json)
        } else if metrics {
            Self.report(
                try await Self.onVersusOff("MALL_METRICS", name: "metrics", orders: orders, concurrency: concurrency, members: Self.members), json: json)
        } else if tracing {
            Self.report(
                try await Self.onVersusOff("MALL_TRACING", name: "tracing", orders: orders, concurrency: concurrency, members: Self.members), json: json)
        } else if durability {
            Self.report(
                try await Self.onVersusOff(
                    "MALL_DURABILITY", values: ("full", "normal"), name: "durability_full", orders: orders, concurrency: concurrency,
                    members: Self.members),
                json: json)
        } else if let database, reconcile {
            Self.report(try await PostgresReconcileBench.run(url: database, orders: reconcileOrders, keep: keep), json: json)
        } else if let database {
            let settings = ScaleOutBench.Settings(
                url: database, nodes: nodes, nodeCPU: nodeCPU, orders: orders, concurrency: concurrency, rounds: rounds, members: Self.members,
                partitions: partitions)
            Self.report(try await ScaleOutBench.run(settings), json: json)
        } else if governance {
            Self.report(try await GovernanceBench.run(orders: orders, concurrency: concurrency, members: Self.members), json: json)
        } else {
            Self.report(try await endToEnd(), json: json)
        }
    }

    func endToEnd() async throws -> [(String, Double)] {
        let server = try await ServerProcess.start()
        defer { server.stop() }
        var results: [(String, Double)] = []

        // 1. End to end.
        let phase = try await Self.ordersEndToEndPhase(server: server, orders: orders, concurrency: concurrency, members: Self.members)
        results += phase.results

        // 2. Latency at a fixed offered rate.
        let histogram = try await phase.load.latencyAtFixedRate(rate: rate, seconds: seconds)
        results.append(("post_orders_offered_rps", rate))
        results.append(("post_orders_p50_ms", Double(histogram.valueAtPercentile(50)) / 1000))
        results.append(("post_orders_p99_ms", Double(histogram.valueAtPercentile(99)) / 1000))
        results.append(("post_orders_samples", Double(histogram.totalCount)))
        try await phase.client.waitUntilCaughtUp()

        // 3. Herald's unit of work on the same SQLite settings, in the same run.
        let uow = try await Self.unitOfWorkCommitsPerSecond(count: 3000)
        results.append(("uow_commits_per_s", uow))
        results.append(("orders_end_to_end_vs_uow_commits", results[1].1 / uow))
        return results
    }

    /// Orders end to end against `server`: `orders` from `POST /orders` until every one
    /// awaits payment, from `concurrency` connections, after registering `members` members
    /// and stocking the benchmark's SKUs.
    static func ordersEndToEndPhase(
        server: ServerProcess, orders: Int, concurrency: Int, members count: Int
    ) async throws -> (results: [(String, Double)], load: LoadGenerator, client: BenchClient) {
        let client = BenchClient(baseURL: server.baseURL, connections: concurrency)
        let before = try await client.storedOrderCount()
        let members = try await client.members(count)
        for sku in skus { try await client.receiveStock(sku: sku, quantity: 1_000_000) }
        try await client.waitUntilCaughtUp()
        var results: [(String, Double)] = []
        let load = LoadGenerator(port: server.baseURL.port!, tokens: members, skus: skus)
        let cpuBefore = server.cpuTime()
        let start = ContinuousClock.now
        try await load.placeOrders(total: orders, connections: concurrency)
        let submitted = ContinuousClock.now
        try await client.waitUntilCaughtUp()
        let settled = ContinuousClock.now
        let cpuAfter = server.cpuTime()
        let stored = try await client.storedOrderCount() - before
        guard stored >= orders else { throw BenchError("only \(stored) of \(orders) orders stored") }
        results.append(("orders_per_s_submitted", Double(orders) / (submitted - start).seconds))
        results.append(("orders_per_s_end_to_end", Double(orders) / (settled - start).seconds))
        if let cpuBefore, let cpuAfter {
            // What an order costs the server, whatever the host's speed at the moment: the
            // CPU time of the whole end-to-end phase (both cores), per order.
            results.append(("server_cpu_ms_per_order", (cpuAfter - cpuBefore).seconds * 1000 / Double(orders)))
            results.append(("server_cores_busy", (cpuAfter - cpuBefore).seconds / (settled - start).seconds))
        }
        return (results, load, client)
    }

    /// `orders_per_s_end_to_end` of ``ordersEndToEndPhase(server:orders:concurrency:members:)``.
    static func ordersEndToEnd(server: ServerProcess, orders: Int, concurrency: Int, members: Int) async throws -> Double {
        let phase = try await ordersEndToEndPhase(server: server, orders: orders, concurrency: concurrency, members: members)
        return phase.results.first { $0.0 == "orders_per_s_end_to_end" }!.1
    }

    /// Orders end to end with the switch `variable` (`MALL_…`) on and off, each on a fresh
    /// server, after one uncounted warm-up server, alternating on, off, off, on so that a
    /// host whose speed drifts favours neither: `orders_per_s_NAME_on_1`…, `orders_NAME_on_vs_off` (the means' ratio), and
    /// the server's CPU time per order both ways with its ratio (less noisy than a rate on
    /// a shared host).
    static func onVersusOff(
        _ variable: String, values: (on: String, off: String) = ("on", "off"), name: String, orders: Int, concurrency: Int, members: Int
    ) async throws -> [(String, Double)] {
        var rates: [Bool: [Double]] = [:], cpu: [Bool: [Double]] = [:]
        // A first server, not counted: the first run of a process tree pays for cold
        // caches (seen under perf: a third more server samples than the same setting's second run).
        do {
            let server = try await ServerProcess.start(environment: [variable: values.on])
            defer { server.stop() }
            _ = try await ordersEndToEndPhase(server: server, orders: max(200, orders / 4), concurrency: concurrency, members: members)
        }
        for enabled in [true, false, false, true] {
            let server = try await ServerProcess.start(environment: [variable: enabled ? values.on : values.off])
            defer { server.stop() }
            let results = try await ordersEndToEndPhase(server: server, orders: orders, concurrency: concurrency, members: members).results
            rates[enabled, default: []].append(results.first { $0.0 == "orders_per_s_end_to_end" }!.1)
            if let perOrder = results.first(where: { $0.0 == "server_cpu_ms_per_order" }) { cpu[enabled, default: []].append(perOrder.1) }
        }
        let mean = { (values: [Double]) in values.reduce(0, +) / Double(values.count) }
        var results: [(String, Double)] = []
        for enabled in [true, false] {
            let state = enabled ? "on" : "off"
            results += rates[enabled, default: []].enumerated().map { ("orders_per_s_\(name)_\(state)_\($0.offset + 1)", $0.element) }
        }
        results.append(("orders_\(name)_on_vs_off", mean(rates[true]!) / mean(rates[false]!)))
        if let on = cpu[true], let off = cpu[false], on.count == 2, off.count == 2 {
            results.append(("server_cpu_ms_per_order_\(name)_on", mean(on)))
            results.append(("server_cpu_ms_per_order_\(name)_off", mean(off)))
            results.append(("server_cpu_per_order_\(name)_on_vs_off", mean(on) / mean(off)))
        }
        return results
    }

    /// An executable built next to this one (`mall`).
    static func sibling(_ name: String) throws -> String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent(name).path
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
