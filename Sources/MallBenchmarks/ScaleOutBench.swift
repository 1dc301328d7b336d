import BenchmarkSupport
import Foundation
import HeraldPostgres
import Logging
@_spi(Operations) import MallApplication
import MallComposition
import MallOperations
import PostgresNIO

/// `mall-bench --database postgres://… --nodes N`: Mall scaled out on PostgreSQL, measured
/// as a user adding nodes would see it.
///
/// Each round starts 1, then 2 … N `mall serve` nodes on a fresh schema of the one
/// database, each in a cgroup of its own capped at `--node-cpu` of a core (a node on a
/// machine of its own), with the saga's subscriptions in partitions shared by the nodes
/// (`MALL_PARTITIONS`, 4 by default). Once every partition has a node, `--orders` orders go
/// to the nodes in turn from `--concurrency` connections, and the clock stops when every
/// one awaits payment (stock reserved, the order moved on: lag 0 everywhere).
///
/// Reports, the median over `--rounds` rounds: `orders_per_s_nodes_K`, `orders_nodes_K_vs_1`,
/// and the CPU each part used (in cores, over the phase): the nodes together (the cap is
/// their ceiling), PostgreSQL (every `postgres` process of the machine) and this load
/// generator, which run outside the caps.
enum ScaleOutBench {
    struct Settings {
        var url: String
        var nodes: Int
        var nodeCPU: Double
        var orders: Int
        var concurrency: Int
        var rounds: Int
        var members: Int
        var partitions: Int?
    }

    /// One round at one node count.
    struct Measurement {
        var ordersPerSecond: Double
        var nodeCores: Double
        var postgresCores: Double
        var generatorCores: Double
        /// Per order, over every node: subscription commits, and commits refused for a
        /// concurrent change (the batch ran again).
        var subscriptionCommits: Double
        var conflicts: Double
    }

    static func run(_ settings: Settings) async throws -> [(String, Double)] {
        // A cap that cannot be made ends the run here, in one line, before anything starts.
        try CPUCap.make(prefix: "mall-bench", cores: settings.nodeCPU).remove()
        var measured: [Int: [Measurement]] = [:]
        for _ in 0..<settings.rounds {
            for count in 1...settings.nodes {
                measured[count, default: []].append(try await measure(nodes: count, settings))
            }
        }
        var results: [(String, Double)] = [("node_cpu_cap_cores", settings.nodeCPU)]
        let single = median(measured[1]!.map(\.ordersPerSecond))
        for count in 1...settings.nodes {
            let rounds = measured[count]!
            let rate = median(rounds.map(\.ordersPerSecond))
            results.append(("orders_per_s_nodes_\(count)", rate))
            if count > 1 { results.append(("orders_nodes_\(count)_vs_1", rate / single)) }
            results.append(("nodes_cpu_cores_nodes_\(count)", median(rounds.map(\.nodeCores))))
            results.append(("postgres_cpu_cores_nodes_\(count)", median(rounds.map(\.postgresCores))))
            results.append(("load_generator_cpu_cores_nodes_\(count)", median(rounds.map(\.generatorCores))))
            results.append(("subscription_commits_per_order_nodes_\(count)", median(rounds.map(\.subscriptionCommits))))
            results.append(("commit_conflicts_per_order_nodes_\(count)", median(rounds.map(\.conflicts))))
        }
        return results
    }

    static func measure(nodes count: Int, _ settings: Settings) async throws -> Measurement {
        let schema = "mall_bench_" + UUID().uuidString.prefix(8).lowercased()
        var servers: [ServerProcess] = [], caps: [CPUCap] = []
        defer {
            for server in servers { server.stop() }
            for cap in caps { cap.remove() }
        }
        var environment = ["MALL_POSTGRES_SCHEMA": schema, "MALL_FAKE_GATEWAY": "on"]
        if let partitions = settings.partitions { environment["MALL_PARTITIONS"] = String(partitions) }
        for _ in 0..<count {
            let cap = try CPUCap.make(prefix: "mall-bench", cores: settings.nodeCPU)
            caps.append(cap)
            servers.append(try await ServerProcess.start(database: settings.url, environment: environment, cap: cap))
        }
        do {
            return try await measure(servers: servers, caps: caps, schema: schema, settings)
        } catch {
            for (index, server) in servers.enumerated() {
                FileHandle.standardError.write(Data("node \(index + 1) of \(count), the end of its log:\n\(server.logTail(40))\n".utf8))
            }
            throw error
        }
    }

    private static func measure(servers: [ServerProcess], caps: [CPUCap], schema: String, _ settings: Settings) async throws -> Measurement {
        let count = servers.count
        let client = BenchClient(baseURL: servers[0].baseURL, connections: settings.concurrency)
        let members = try await client.members(settings.members)
        for sku in MallBench.skus { try await client.receiveStock(sku: sku, quantity: 1_000_000) }
        try await waitUntilEveryPartitionIsHeld(by: count, client: client)
        try await client.waitUntilCaughtUp(every: .milliseconds(100))

        let load = LoadGenerator(ports: servers.map { $0.baseURL.port! }, tokens: members, skus: MallBench.skus)
        let countersBefore = try await counters(servers)
        let nodesBefore = caps.compactMap(\.cpuTime).reduce(.zero, +), postgresBefore = postgresCPU(), generatorBefore = ownCPU()
        let start = ContinuousClock.now
        try await load.placeOrders(total: settings.orders, connections: settings.concurrency)
        try await client.waitUntilCaughtUp(every: .milliseconds(100))
        let elapsed = (ContinuousClock.now - start).seconds
        let nodes = (caps.compactMap(\.cpuTime).reduce(.zero, +) - nodesBefore).seconds
        let postgres = (postgresCPU() - postgresBefore).seconds, generator = (ownCPU() - generatorBefore).seconds
        let countersAfter = try await counters(servers)
        let stored = try await client.storedOrderCount()
        guard stored >= settings.orders else { throw BenchError("only \(stored) of \(settings.orders) orders stored") }
        try await dropSchema(schema, url: settings.url)
        return Measurement(
            ordersPerSecond: Double(settings.orders) / elapsed, nodeCores: nodes / elapsed, postgresCores: postgres / elapsed,
            generatorCores: generator / elapsed,
            subscriptionCommits: (countersAfter.commits - countersBefore.commits) / Double(settings.orders),
            conflicts: (countersAfter.conflicts - countersBefore.conflicts) / Double(settings.orders))
    }

    /// Subscription commits and conflicts so far, summed over the nodes' `/metrics`.
    static func counters(_ servers: [ServerProcess]) async throws -> (commits: Double, conflicts: Double) {
        var commits = 0.0, conflicts = 0.0
        for server in servers {
            let (_, body) = try await BenchClient(baseURL: server.baseURL, connections: 1).sendText("GET", "/metrics", token: ServerProcess.adminToken)
            for line in body.split(separator: "\n") where !line.hasPrefix("#") {
                let value = Double(line.split(separator: " ").last ?? "") ?? 0
                if line.hasPrefix("herald_commits_total{") && line.contains("kind=\"subscription\"") { commits += value }
                if line.hasPrefix("herald_commit_conflicts_total{") { conflicts += value }
            }
        }
        return (commits, conflicts)
    }

    /// Waits until the partitions of the saga's subscriptions are held by `count` nodes
    /// between them (a new node takes its share within a lease renewal or two).
    static func waitUntilEveryPartitionIsHeld(by count: Int, client: BenchClient) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let partitions = try await client.subscriptionStatuses().filter { ($0["name"] as? String)?.contains("#") == true }
            let holders = Set(partitions.compactMap { $0["node"] as? String })
            if partitions.isEmpty, try await !client.subscriptionStatuses().isEmpty { return }  // not partitioned
            if !partitions.isEmpty, partitions.allSatisfy({ $0["node"] != nil }), holders.count == min(count, partitions.count) { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BenchError("the partitions were not shared by \(count) node(s) within 2 minutes")
    }

    /// CPU time of every `postgres` process on the machine: the server's backends, which
    /// live as long as the nodes' pooled connections (one that ends within a phase takes its
    /// time with it, so this is a floor).
    static func postgresCPU() -> Duration {
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
        return pids.filter { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == "postgres"
        }.compactMap { cpuTime(of: $0) }.reduce(.zero, +)
    }

    /// This process's CPU time: the load generator's.
    static func ownCPU() -> Duration {
        cpuTime(of: getpid()) ?? .zero
    }

    static func dropSchema(_ schema: String, url: String) async throws {
        let client = PostgresClient(configuration: try PostgresEventStore.configuration(url: url), backgroundLogger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE"), logger: quietLogger)
        }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

extension CPUCap {
    /// CPU time of the group's processes so far.
    var cpuTime: Duration? {
        let times = processes.compactMap { BenchmarkSupport.cpuTime(of: $0) }
        return times.isEmpty ? nil : times.reduce(.zero, +)
    }
}

/// `mall-bench --database postgres://… --reconcile`: `mall reconcile` on PostgreSQL over
/// `--reconcile-orders` orders (100,000), placed in process on a fresh schema (not
/// partitioned: one process drains the saga between batches), then reconciled by `mall
/// reconcile` as a child process: `reconcile_seconds_postgres` and its peak memory. With
/// `--keep NAME` the schema is called NAME and kept, to time another build's `mall
/// reconcile` on the same data.
enum PostgresReconcileBench {
    static func run(url: String, orders: Int, keep: String?) async throws -> [(String, Double)] {
        let schema = keep ?? "mall_bench_" + UUID().uuidString.prefix(8).lowercased()
        var configuration = MallConfiguration()
        configuration.database = url
        configuration.postgresSchema = schema
        configuration.partitions = 0
        configuration.passwordCost = 4
        configuration.maxUnpaidOrdersPerMember = 1_000_000
        let seeding = ContinuousClock.now
        let placed = try await Mall.withMall(configuration, logger: quietLogger) { mall in
            try await mall.seedDemoCatalogIfEmpty()
            for sku in MallBench.skus { _ = try await mall.receiveStock(sku: sku, quantity: 10_000_000) }
            let shop = try InProcessShop(mall: mall)
            try await shop.settle()
            return try await shop.placeOrders(until: orders)
        }
        let seeded = (ContinuousClock.now - seeding).seconds
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("mall-bench-reconcile-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let reconcile = try ChildProcess.run(
            try MallBench.sibling("mall"), ["reconcile", "--database", url, "--schema", schema, "--submitted-grace", "100000000"], output: output)
        let report = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard reconcile.status == 0, report.contains("checked \(placed) orders") else {
            throw BenchError("mall reconcile exited \(reconcile.status): \(report.prefix(2000))")
        }
        if keep == nil { try await ScaleOutBench.dropSchema(schema, url: url) }
        return [
            ("reconcile_orders", Double(placed)), ("seed_seconds", seeded), ("reconcile_seconds_postgres", reconcile.seconds),
            ("reconcile_rss_mb", reconcile.maxResidentKilobytes / 1024),
        ]
    }
}
