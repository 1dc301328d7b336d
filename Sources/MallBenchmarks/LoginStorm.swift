import Foundation
import Histogram
import Synchronization

/// `mall-bench --login-storm`: does a burst of log-ins stall everyone else?
///
/// Against a `mall serve` with the default bcrypt cost (10), `GET /products` runs at a fixed
/// offered rate (open loop, as ``LoadGenerator/latencyAtFixedRate(rate:seconds:workers:request:)``)
/// twice in the same run: once quiet (`p99_ms_products_quiet`) and once while 64 clients log in
/// continuously, each sending its next `POST /sessions` as soon as the last one answers
/// (`p99_ms_products_during_logins`). Target: the storm costs less than 3× the quiet p99.
/// Log-ins refused with 503 (the hashing queue full) are counted, not retried later.
enum LoginStorm {
    static let stormClients = 64

    static func run(rate: Double, seconds: Double) async throws -> [(String, Double)] {
        let server = try await ServerProcess.start(passwordCost: nil)
        defer { server.stop() }
        let client = BenchClient(baseURL: server.baseURL, connections: 8)
        for index in 0..<stormClients {
            let (status, _) = try await client.send(
                "POST", "/members", body: ["email": "storm\(index)@example.com", "password": "storm-password", "name": "Storm \(index)"])
            guard status == 201 else { throw BenchError("registration answered \(status)") }
        }
        let load = LoadGenerator(port: server.baseURL.port!, tokens: [], skus: [])
        let products: @Sendable (Int) -> LoadGenerator.Request = { index in
            LoadGenerator.Request(method: "GET", path: "/products?page=\(index % 3 + 1)", expected: 200)
        }
        _ = try await load.latencyAtFixedRate(rate: rate, seconds: 1, request: products)  // warm-up
        let quiet = try await load.latencyAtFixedRate(rate: rate, seconds: seconds, request: products)

        let stop = Atomic(false)
        let outcomes = Mutex<[Int: Int]>([:])
        let storm = Task {
            await load.runThreads(stormClients) { worker in
                guard let connection = try? RawHTTPConnection(port: load.port) else { return }
                let body = Array(#"{"email":"storm\#(worker)@example.com","password":"storm-password"}"#.utf8)
                while !stop.load(ordering: .relaxed) {
                    guard let (status, _) = try? connection.send(method: "POST", path: "/sessions", body: body) else { return }
                    outcomes.withLock { $0[status, default: 0] += 1 }
                }
            }
        }
        try await Task.sleep(for: .milliseconds(500))  // the storm reaches full strength
        let stormStart = ContinuousClock.now
        let during = try await load.latencyAtFixedRate(rate: rate, seconds: seconds, request: products)
        let stormSeconds = (ContinuousClock.now - stormStart).seconds
        stop.store(true, ordering: .relaxed)
        await storm.value
        let counted = outcomes.withLock { $0 }

        let quietP99 = Double(quiet.valueAtPercentile(99)) / 1000, stormP99 = Double(during.valueAtPercentile(99)) / 1000
        return [
            ("products_offered_rps", rate),
            ("p50_ms_products_quiet", Double(quiet.valueAtPercentile(50)) / 1000),
            ("p99_ms_products_quiet", quietP99),
            ("p50_ms_products_during_logins", Double(during.valueAtPercentile(50)) / 1000),
            ("p99_ms_products_during_logins", stormP99),
            ("storm_vs_quiet_p99", stormP99 / quietP99),
            ("logins_per_s", Double(counted[201, default: 0]) / stormSeconds),
            ("logins_refused_503_per_s", Double(counted[503, default: 0]) / stormSeconds),
            ("logins_other_status", Double(counted.filter { $0.key != 201 && $0.key != 503 }.values.reduce(0, +))),
        ]
    }
}
