import Foundation
import Herald
import Histogram
@_spi(Operations) import MallApplication
import MallComposition
import MallOperations
import MallCatalog
import MallKernel
import MallOrdering
import MallOrderingEvents

/// `mall-bench --catalog`: does the shop still work at a realistic size?
///
/// In one run:
/// 1. On a fresh shop with the 22 demo products, the probes of step 3 (`*_small`) and
///    orders end to end as the default benchmark (`orders_per_s_small`).
/// 2. A shop of `--products` products (100,000 by default, plus the demo catalog) is seeded
///    in process through the Catalog's service, each product one commit, the read side
///    (listing, search terms, price book) kept by its projections. Product edits are timed
///    at 1,000 products and at the full size: `product_edit_commits_per_s_*` (the edits'
///    commits alone) and `product_edits_per_s_*` (until the projections have them too).
/// 3. `mall serve` on that database, 32 connections in a closed loop for `--seconds` each
///    (driven by `wrk` when installed, see ``Wrk``):
///    `GET /health/live` (`health_rps`, the HTTP stack's own limit on this machine, as
///    the baseline), a category page (`get_products_rps`, `get_products_p99_ms`) and a text
///    search (`search_rps`, `search_p99_ms`), searches as shoppers search
///    (`search_varied_rps`, `search_varied_p99_ms`: every request a different query of one
///    to three of the catalog's words, some spelled with accents, some ending in a prefix,
///    more of them than the listing cache holds, so it serves none: `search_varied_cache_hits`
///    says how many it did), and the category page at 4 connections (its
///    latency without 32 requests queueing on 2 cores); the same pages again on a server
///    with the listing cache off (`*_uncached`: every request queries the listing); then
///    orders end to end again (`orders_per_s_100k`, and `orders_100k_vs_small`).
/// 4. Orders are added in process until `--reconcile-orders` (100,000) exist, and
///    `mall reconcile` runs on the database as a child process: `reconcile_seconds` and its
///    peak resident memory, `reconcile_rss_mb` (`VmHWM`, see ``ChildProcess``).
enum CatalogBench {
    struct Settings {
        var products = 100_000
        var reconcileOrders = 100_000
        var orders = 2000
        var edits = 500
        var concurrency = 32
        var seconds = 10.0
        var members = 64
        /// Where to keep the shop's SQLite file afterwards (deleted when `nil`).
        var keep: String?
    }

    static func run(_ settings: Settings) async throws -> [(String, Double)] {
        var results: [(String, Double)] = []
        @Sendable func note(_ line: String) { FileHandle.standardError.write(Data("mall-bench --catalog: \(line)\n".utf8)) }

        note("the 22 demo products: listing, search, orders end to end")
        let small = try await ServerProcess.start()
        defer { small.stop() }  // also when a probe throws (stop is idempotent)
        results += try await probe(
            small, categories: ["drinks", "kitchen", "books", "stationery", "outdoor"], words: ["tea", "mug", "pen", "steel", "oak", "salt"],
            settings: settings, suffix: "_small")
        let smallRate = try await MallBench.ordersEndToEnd(server: small, orders: settings.orders, concurrency: settings.concurrency, members: settings.members)
        small.stop()
        results.append(("orders_per_s_small", smallRate))

        let shopFile = try BenchShopFile("catalog", keep: settings.keep)
        defer { shopFile.finish() }
        let directory = shopFile.directory, database = shopFile.path, configuration = shopFile.configuration

        let seeding = ContinuousClock.now
        results += try await Mall.withMall(configuration, logger: quietLogger) { mall in
            let shop = try InProcessShop(mall: mall)
            try await mall.seedDemoCatalogIfEmpty()
            try await shop.list(CatalogGenerator.products(0..<min(1000, settings.products), currency: mall.configuration.pricing.currency))
            try await shop.settle()
            note("edits at 1,000 products")
            var measured = try await shop.timeEdits(settings.edits, among: min(1000, settings.products), suffix: "1k")
            var next = 1000
            while next < settings.products {
                let end = min(next + 10_000, settings.products)
                try await shop.list(CatalogGenerator.products(next..<end, currency: mall.configuration.pricing.currency))
                try await shop.settle()
                note("\(end) products listed")
                next = end
            }
            note("edits at \(settings.products) products")
            measured += try await shop.timeEdits(settings.edits, among: settings.products, suffix: "100k")
            for sku in MallBench.skus { try await mall.receiveStock(sku: sku, quantity: 10_000_000) }
            try await shop.settle()
            return measured
        }
        results.append(("seed_seconds", (ContinuousClock.now - seeding).seconds))

        note("serving \(settings.products) products")
        let big = try await ServerProcess.start(database: database)
        defer { big.stop() }
        let client = BenchClient(baseURL: big.baseURL, connections: settings.concurrency)
        try await client.waitUntilCaughtUp()
        results += try await probe(big, categories: CatalogGenerator.categories, words: CatalogGenerator.vocabulary, settings: settings, suffix: "")
        results.append(("get_products_vs_health_rps", value("get_products_rps", in: results) / value("health_rps", in: results)))
        results.append(("get_products_100k_vs_small_rps", value("get_products_rps", in: results) / value("get_products_rps_small", in: results)))
        note("orders end to end with \(settings.products) products")
        let bigRate = try await MallBench.ordersEndToEnd(server: big, orders: settings.orders, concurrency: settings.concurrency, members: settings.members)
        big.stop()
        results.append(("orders_per_s_100k", bigRate))
        results.append(("orders_100k_vs_small", bigRate / smallRate))

        note("the same pages without the listing cache")
        let uncached = try await ServerProcess.start(database: database, environment: ["MALL_LISTING_CACHE_PAGES": "0"])
        defer { uncached.stop() }
        try await BenchClient(baseURL: uncached.baseURL, connections: settings.concurrency).waitUntilCaughtUp()
        results += try await probe(
            uncached, categories: CatalogGenerator.categories, words: CatalogGenerator.vocabulary, settings: settings, suffix: "_uncached", health: false)
        uncached.stop()

        note("placing orders until \(settings.reconcileOrders) exist")
        let placed = try await Mall.withMall(configuration, logger: quietLogger) { mall in
            let shop = try InProcessShop(mall: mall)
            return try await shop.placeOrders(until: settings.reconcileOrders)
        }
        note("reconciling \(placed) orders")
        let reconcile = try ChildProcess.run(
            try MallBench.sibling("mall"), ["reconcile", "--database", database, "--submitted-grace", "100000000"],
            output: directory.appendingPathComponent("reconcile.out").path)
        let report = (try? String(contentsOfFile: directory.appendingPathComponent("reconcile.out").path, encoding: .utf8)) ?? ""
        guard reconcile.status == 0, report.contains("checked \(placed) orders") else {
            throw BenchError("mall reconcile exited \(reconcile.status): \(report.prefix(2000))")
        }
        results.append(("reconcile_orders", Double(placed)))
        results.append(("reconcile_seconds", reconcile.seconds))
        results.append(("reconcile_rss_mb", reconcile.maxResidentKilobytes / 1024))
        return results
    }

    /// `GET /health/live`, a category page and a one-word search on `server`, each in a
    /// closed loop of `settings.concurrency` connections, then the category page at 4
    /// connections (what one request takes when few wait in line).
    static func probe(
        _ server: ServerProcess, categories: [String], words: [String], settings: Settings, suffix: String, health: Bool = true
    ) async throws -> [(String, Double)] {
        let load = LoadGenerator(port: server.baseURL.port!, tokens: [], skus: [])
        let page: @Sendable (Int) -> LoadGenerator.Request = { index in
            LoadGenerator.Request(method: "GET", path: "/products?category=\(categories[index % categories.count])&page=\(index % 5 + 1)", expected: 200)
        }
        let probes: [(String, Int, @Sendable (Int) -> LoadGenerator.Request)] = [
            ("health", settings.concurrency, { _ in LoadGenerator.Request(method: "GET", path: "/health/live", expected: 200) }),
            ("get_products", settings.concurrency, page),
            ("search", settings.concurrency, { index in
                LoadGenerator.Request(method: "GET", path: "/products?q=\(words[(index &* 7919) % words.count])", expected: 200)
            }),
            ("search_varied", settings.concurrency, { index in
                LoadGenerator.Request(method: "GET", path: "/products?q=\(variedSearch(index, words: words))", expected: 200)
            }),
            ("get_products_4_connections", 4, page),
        ]
        var results: [(String, Double)] = []
        if Wrk.executable == nil { FileHandle.standardError.write(Data("mall-bench --catalog: wrk not installed, probing with the thread-per-connection generator\n".utf8)) }
        for (name, connections, request) in probes where health || name != "health" {
            let outcome: Wrk.Outcome
            let hitsBefore = name == "search_varied" ? try await listingCacheHits(server) : 0
            if let wrk = Wrk.executable {
                // The varied searches: more than the listing cache's 1,024 pages, in turn, so
                // a page is always gone before its query comes again.
                let paths = (0..<(name == "search_varied" ? 20_000 : 4000)).map { request($0).path }
                _ = try Wrk.closedLoop(wrk, port: server.baseURL.port!, connections: connections, seconds: 1, paths: paths)  // warm-up
                outcome = try Wrk.closedLoop(wrk, port: server.baseURL.port!, connections: connections, seconds: settings.seconds, paths: paths)
            } else {
                _ = try await load.closedLoop(connections: connections, seconds: 1, request: request)  // warm-up
                let (rate, histogram) = try await load.closedLoop(connections: connections, seconds: settings.seconds, request: request)
                outcome = Wrk.Outcome(rate: rate, p50: Double(histogram.valueAtPercentile(50)), p99: Double(histogram.valueAtPercentile(99)))
            }
            results.append(("\(name)_rps\(suffix)", outcome.rate))
            results.append(("\(name)_p50_ms\(suffix)", outcome.p50 / 1000))
            results.append(("\(name)_p99_ms\(suffix)", outcome.p99 / 1000))
            if name == "search_varied" { results.append(("search_varied_cache_hits\(suffix)", try await listingCacheHits(server) - hitsBefore)) }
        }
        return results
    }

    /// The `index`th of the varied searches: one to three words of `words`, the first spelled
    /// with an accent in one search of four (`kalo` as `kálo`: found the same), the last cut
    /// to its first three letters and a `*` in one of four (a type-ahead), percent-encoded.
    static func variedSearch(_ index: Int, words: [String]) -> String {
        let generator = SeededRandomSource(seed: UInt64(index) &* 0x2545_F491_4F6C_DD1D &+ 7)
        var picked = (0...Int(generator.next() % 3)).map { _ in words[Int(generator.next() % UInt64(words.count))] }
        if generator.next() % 4 == 0, let vowel = picked[0].firstIndex(where: { "aeiou".contains($0) }) {
            let accented: [Character: Character] = ["a": "á", "e": "é", "i": "í", "o": "ô", "u": "ü"]
            picked[0].replaceSubrange(vowel...vowel, with: String(accented[picked[0][vowel]]!))
        }
        if generator.next() % 4 == 0, let last = picked.indices.last { picked[last] = String(picked[last].prefix(3)) + "*" }
        return picked.joined(separator: " ").addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }

    /// The listing cache's hits so far on `server` (from its metrics).
    static func listingCacheHits(_ server: ServerProcess) async throws -> Double {
        let client = BenchClient(baseURL: server.baseURL, connections: 1)
        let (_, text) = try await client.sendText("GET", "/metrics", token: ServerProcess.adminToken)
        return text.split(separator: "\n").first { $0.hasPrefix("mall_listing_cache_hits_total") }
            .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } } ?? 0
    }

    static func value(_ key: String, in results: [(String, Double)]) -> Double {
        results.first { $0.0 == key }?.1 ?? .nan
    }
}

/// A Mall driven in process: its subscriptions and projections drained by hand.
struct InProcessShop {
    let mall: Mall
    let workers: [SubscriptionWorker]
    let projectors: [ProjectionWorker]

    init(mall: Mall) throws {
        self.mall = mall
        workers = try mall.subscriptions().map(mall.engine.worker(for:))
        projectors = try mall.projections().map(mall.engine.projectionWorker(for:))
    }

    /// Drains every subscription and projection until a round handles nothing.
    func settle() async throws {
        while true {
            var handled = 0
            for worker in workers { handled += try await worker.drain().handled }
            for projector in projectors { handled += try await projector.drain().handled }
            if handled == 0 { return }
        }
    }

    func list(_ products: [(ProductDetails, Money)]) async throws {
        for (details, price) in products { try await mall.listProduct(details, price: price) }
    }

    /// `count` edits of products among the first `among` generated ones (new title words
    /// and price): their commits' rate, and the rate until the read side has them.
    func timeEdits(_ count: Int, among: Int, suffix: String) async throws -> [(String, Double)] {
        let generator = SeededRandomSource(seed: UInt64(among))
        let currency = mall.configuration.pricing.currency
        let start = ContinuousClock.now
        for edit in 0..<count {
            let index = Int(generator.next() % UInt64(among))
            var (details, _) = CatalogGenerator.product(index, currency: currency)
            details.title += " \(CatalogGenerator.vocabulary[edit % CatalogGenerator.vocabulary.count])"
            try await mall.updateProduct(details, price: Money(minorUnits: Int64(100 + edit), currency: currency))
        }
        let committed = ContinuousClock.now
        FileHandle.standardError.write(Data("mall-bench --catalog: \(count) edits committed, projecting\n".utf8))
        try await settle()
        FileHandle.standardError.write(Data("mall-bench --catalog: \(count) edits projected\n".utf8))
        let projected = ContinuousClock.now
        return [
            ("product_edit_commits_per_s_\(suffix)", Double(count) / (committed - start).seconds),
            ("product_edits_per_s_\(suffix)", Double(count) / (projected - start).seconds),
        ]
    }

    /// Places one-line orders of the benchmark's SKUs until the shop holds `total`, in
    /// batches whose saga is settled before the next. Returns how many orders exist.
    func placeOrders(until total: Int) async throws -> Int {
        var existing = 0
        try await mall.engine.store.scanLog { batch in existing += batch.count { $0.eventType == OrderSubmitted.eventType } }
        var members: [String] = []
        for index in 0..<100 {
            members.append(try await mall.register(email: "reconcile-\(index)@example.com", password: "bench-password", name: "R \(index)"))
        }
        let address = Address(name: "Bench", phone: "+1 555 0100", line1: "1 Loop Road", city: "Localhost", postcode: "12345")
        var placed = existing
        while placed < total {
            for _ in 0..<min(2000, total - placed) {
                let request = PlaceOrder(
                    lines: [StockLine(sku: MallBench.skus[placed % MallBench.skus.count], quantity: 1)], address: address, paymentMethod: "card")
                _ = try await mall.placeOrder(memberID: members[placed % members.count], request)
                placed += 1
            }
            try await settle()
        }
        return placed
    }
}

/// A deterministic catalog of any size: titles and descriptions from a made-up vocabulary
/// (each word in about 0.7% of the products), fifty categories, varied prices and weights.
enum CatalogGenerator {
    static let categories = (0..<50).map { "category-\($0)" }

    /// 2,000 distinct made-up words of two or three syllables.
    static let vocabulary: [String] = {
        let syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "zu", "pe", "da", "fi", "go", "hu", "ja", "be", "co", "ly", "mo", "ta"]
        var words: [String] = []
        for a in syllables { for b in syllables { words.append(a + b) } }
        for a in syllables { for b in syllables { for c in syllables where words.count < 2000 { words.append(a + b + c) } } }
        return Array(words.prefix(2000))
    }()

    static func product(_ index: Int, currency: String) -> (ProductDetails, Money) {
        let generator = SeededRandomSource(seed: UInt64(index) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        func word() -> String { vocabulary[Int(generator.next() % UInt64(vocabulary.count))] }
        let title = (0..<3).map { _ in word() }.joined(separator: " ").capitalized
        let description = (0..<10).map { _ in word() }.joined(separator: " ")
        let details = ProductDetails(
            sku: "gen-\(index)", title: title, category: categories[index % categories.count], description: description,
            weightGrams: Int(generator.next() % 5000))
        return (details, Money(minorUnits: Int64(100 + generator.next() % 100_000), currency: currency))
    }

    static func products(_ range: Range<Int>, currency: String) -> [(ProductDetails, Money)] {
        range.map { product($0, currency: currency) }
    }
}

/// A child process run to its end with `posix_spawn` and reaped with `wait4`, for its own
/// resource usage (Foundation's `Process` reaps children itself and does not report it).
/// A benchmark shop's SQLite file in a fresh directory, with Mall's settings for it (the
/// cheapest password hashing, no limit on unpaid orders). ``finish()`` moves the file to
/// `keep`, when given, and deletes the directory.
struct BenchShopFile {
    let directory: URL
    let path: String
    let keep: String?

    init(_ name: String, keep: String?) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mall-bench-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("mall.sqlite").path
        self.keep = keep
    }

    var configuration: MallConfiguration {
        var configuration = MallConfiguration()
        configuration.database = path
        configuration.passwordCost = 4
        configuration.maxUnpaidOrdersPerMember = 1_000_000
        if let mib = ProcessInfo.processInfo.environment["MALL_SQLITE_MMAP_MIB"].flatMap(Int.init) { configuration.sqliteMemoryMapMiB = mib }
        return configuration
    }

    func finish() {
        if let keep {
            for suffix in ["", "-wal", "-shm"] {
                try? FileManager.default.removeItem(atPath: keep + suffix)
                try? FileManager.default.moveItem(atPath: path + suffix, toPath: keep + suffix)
            }
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

enum ChildProcess {
    struct Outcome {
        var status: Int32
        var seconds: Double
        /// The child's peak resident memory once it runs its own program (`VmHWM`).
        var maxResidentKilobytes: Double
    }

    /// Runs `executable` to its end, its output to `output`.
    ///
    /// The peak memory is read from `/proc/PID/status` (`VmHWM`) while the child runs, not
    /// from `wait4`'s `ru_maxrss`: a child spawned from this process (which holds a whole shop
    /// in memory by then) shares its address space until it executes its program, and
    /// `ru_maxrss` counts that (178 MB reported for a `mall reconcile` that peaks at 55 MB).
    static func run(_ executable: String, _ arguments: [String], output: String) throws -> Outcome {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let start = ContinuousClock.now
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw BenchError("could not start \(executable): error \(spawned)") }
        var status: Int32 = 0
        var peak = 0.0
        while true {
            peak = max(peak, highWaterMark(pid) ?? 0)
            let waited = waitpid(pid, &status, WNOHANG)
            if waited == pid { break }
            guard waited == 0 else { throw BenchError("waitpid failed for \(executable)") }
            usleep(5000)
        }
        let exited = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(status: exited, seconds: (ContinuousClock.now - start).seconds, maxResidentKilobytes: peak)
    }

    /// `VmHWM` of a running process, in KiB (`nil` while it has no memory of its own, or once it has ended).
    static func highWaterMark(_ pid: pid_t) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return nil }
        return Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }
}
