import Foundation
import Histogram
import Synchronization

/// `mall-bench --login-storm`: do log-ins stall everyone else? Two phases, each against a
/// `mall serve` with the default bcrypt cost (10), each measured quiet and stormed in the
/// same run, at a fixed offered rate (open loop, as
/// ``LoadGenerator/latencyAtFixedRate(rate:seconds:workers:request:)``):
///
/// 1. Many accounts: `GET /products` while 64 clients, each its own account, log in
///    continuously (each sends its next `POST /sessions` as soon as the last one answers):
///    `p99_ms_products_during_logins` against `p99_ms_products_quiet`. The limits on log-ins
///    are lifted for this phase: it measures what the hashing costs request handling.
/// 2. One account: other members' log-ins (each member from an address of its own, told
///    apart behind a trusted proxy) while 64 clients storm one valid account with its right
///    password, each from an address of its own, under the default limits:
///    `p99_ms_member_logins_during_account_storm` against `p99_ms_member_logins_quiet`.
///
/// Target for both: the storm costs less than 3× the quiet p99. Refusals (503: hashing
/// queue full; 429: a limit) are counted, not retried.
enum LoginStorm {
    static let stormClients = 64
    /// Members who log in during phase 2 (each is refused past ten log-ins a minute).
    static let members = 150
    /// Their log-ins per second: a bcrypt of cost 10 takes ~50 ms of a core here, so 4 a
    /// second keep the hashing threads a fifth busy (a queue, not the storm, would show at more).
    static let memberRate = 4.0

    static func run(rate: Double, seconds: Double) async throws -> [(String, Double)] {
        try await manyAccounts(rate: rate, seconds: seconds) + oneAccount(rate: memberRate, seconds: seconds)
    }

    /// Phase 1.
    static func manyAccounts(rate: Double, seconds: Double) async throws -> [(String, Double)] {
        // What the hashing costs the rest, not what the limits refuse: 64 accounts log in as fast as they can.
        let server = try await ServerProcess.start(passwordCost: nil, environment: [
            "MALL_LOGINS_PER_ACCOUNT_PER_MINUTE": "1000000", "MALL_LOGINS_PER_ACCOUNT_BURST": "1000000",
            "MALL_FAILED_LOGINS_PER_MINUTE": "1000000", "MALL_FAILED_LOGINS_BURST": "1000000",
        ])
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
        let (during, counted, stormSeconds) = try await storm(load, while: { try await load.latencyAtFixedRate(rate: rate, seconds: seconds, request: products) }) { worker in
            (Array(#"{"email":"storm\#(worker)@example.com","password":"storm-password"}"#.utf8), nil)
        }
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

    static func member(_ index: Int) -> String { "member\(index)@example.com" }
    /// Member `index`'s address, as the trusted proxy forwards it.
    static func address(_ index: Int) -> String { "198.18.\(index / 250).\(index % 250 + 1)" }

    /// Phase 2.
    static func oneAccount(rate: Double, seconds: Double) async throws -> [(String, Double)] {
        let server = try await ServerProcess.start(passwordCost: nil, relaxedLogins: false, arguments: ["--trusted-proxy", "127.0.0.1"])
        defer { server.stop() }
        let port = server.baseURL.port!
        let connection = try RawHTTPConnection(port: port)
        for index in 0...members {
            let body = Array(#"{"email":"\#(member(index))","password":"member-password","name":"Member \#(index)"}"#.utf8)
            let (status, _) = try connection.send(method: "POST", path: "/members", body: body, forwardedFor: address(index))
            guard status == 201 else { throw BenchError("registration answered \(status)") }
        }
        // Member 0 is the account that storms; the others log in at `rate`, each from its own address.
        let load = LoadGenerator(port: port, tokens: [], skus: [])
        let logins: @Sendable (Int) -> LoadGenerator.Request = { index in
            let who = index % members + 1
            return LoadGenerator.Request(
                method: "POST", path: "/sessions", body: Array(#"{"email":"\#(member(who))","password":"member-password"}"#.utf8),
                expected: 201, forwardedFor: address(who))
        }
        _ = try await load.latencyAtFixedRate(rate: rate, seconds: 1, request: logins)  // warm-up
        let quiet = try await load.latencyAtFixedRate(rate: rate, seconds: seconds, request: logins)
        let (during, counted, stormSeconds) = try await storm(load, while: { try await load.latencyAtFixedRate(rate: rate, seconds: seconds, request: logins) }) { worker in
            (Array(#"{"email":"\#(member(0))","password":"member-password"}"#.utf8), "203.0.113.\(worker + 1)")
        }
        let quietP99 = Double(quiet.valueAtPercentile(99)) / 1000, stormP99 = Double(during.valueAtPercentile(99)) / 1000
        return [
            ("member_logins_offered_rps", rate),
            ("p50_ms_member_logins_quiet", Double(quiet.valueAtPercentile(50)) / 1000),
            ("p99_ms_member_logins_quiet", quietP99),
            ("p50_ms_member_logins_during_account_storm", Double(during.valueAtPercentile(50)) / 1000),
            ("p99_ms_member_logins_during_account_storm", stormP99),
            ("account_storm_vs_quiet_p99", stormP99 / quietP99),
            ("account_storm_logins_accepted", Double(counted[201, default: 0])),
            ("account_storm_refused_429_per_s", Double(counted[429, default: 0]) / stormSeconds),
            ("account_storm_other_status", Double(counted.filter { $0.key != 201 && $0.key != 429 }.values.reduce(0, +))),
        ]
    }

    /// Runs `measure` while 64 clients log in continuously with the body (and forwarded
    /// address) `login(worker)` gives; returns what `measure` returned, the storm's answers by
    /// status, and how long it was measured.
    static func storm<T: Sendable>(
        _ load: LoadGenerator, while measure: @Sendable () async throws -> T, login: @escaping @Sendable (Int) -> ([UInt8], String?)
    ) async throws -> (T, [Int: Int], Double) {
        let stop = Atomic(false)
        let outcomes = Mutex<[Int: Int]>([:])
        let storm = Task {
            await load.runThreads(stormClients) { worker in
                guard let connection = try? RawHTTPConnection(port: load.ports[0]) else { return }
                let (body, address) = login(worker)
                while !stop.load(ordering: .relaxed) {
                    guard let (status, _) = try? connection.send(method: "POST", path: "/sessions", body: body, forwardedFor: address) else { return }
                    outcomes.withLock { $0[status, default: 0] += 1 }
                }
            }
        }
        try await Task.sleep(for: .milliseconds(500))  // the storm reaches full strength
        let stormStart = ContinuousClock.now
        let measured = try await measure()
        let stormSeconds = (ContinuousClock.now - stormStart).seconds
        stop.store(true, ordering: .relaxed)
        await storm.value
        return (measured, outcomes.withLock { $0 }, stormSeconds)
    }
}
