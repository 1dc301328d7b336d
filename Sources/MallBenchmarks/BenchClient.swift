import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import BenchmarkSupport
import Histogram

/// `mall serve` as a child process on a free loopback port, on a fresh SQLite file or a
/// given one.
final class ServerProcess: Sendable {
    static let adminToken = "bench-admin-token-0123456789"
    let process: Process
    let baseURL: URL
    let directory: URL

    private init(process: Process, baseURL: URL, directory: URL) {
        self.process = process
        self.baseURL = baseURL
        self.directory = directory
    }

    /// - Parameters:
    ///   - passwordCost: bcrypt's cost; `nil` for the server's default (10). The order
    ///     benchmarks register members with cost 4, which is not what they measure.
    ///   - database: a SQLite file or PostgreSQL URL to serve (kept); `nil` for a fresh SQLite
    ///     file, deleted by ``stop()``.
    /// - Parameters:
    ///   - relaxedLogins: whether the limit of log-ins per address is lifted (the benchmark's
    ///     clients all log in from 127.0.0.1); off, the server's defaults hold.
    ///   - arguments: more `mall serve` arguments.
    ///   - cap: a CPU cap the server joins as soon as it has started (before it listens).
    static func start(
        passwordCost: Int? = 4, database: String? = nil, environment extra: [String: String] = [:], relaxedLogins: Bool = true,
        arguments: [String] = [], cap: CPUCap? = nil
    ) async throws -> ServerProcess {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mall-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let log = directory.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try MallBench.sibling("mall"))
        process.arguments = [
            "serve", "--database", database ?? directory.appendingPathComponent("mall.sqlite").path, "--port", "0",
            "--admin-token", adminToken,
            "--max-unpaid-orders", "10000",  // the benchmark's members never pay
        ] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["MALL_PASSWORD_COST"] = passwordCost.map(String.init)
        // Each of the benchmark's 64 members orders ~25 times a second, far past the
        // per-member limit a shop sets for people.
        environment["MALL_ORDERS_PER_MINUTE"] = "1000000"
        environment["MALL_ORDERS_BURST"] = "1000000"
        // And all of them log in from 127.0.0.1 at once.
        if relaxedLogins {
            environment["MALL_LOGINS_PER_ADDRESS_PER_MINUTE"] = "1000000"
            environment["MALL_LOGINS_PER_ADDRESS_BURST"] = "1000000"
        }
        environment.merge(extra) { _, new in new }
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = process.standardOutput
        try process.run()
        do {
            try cap?.add(process.processIdentifier)
        } catch {
            process.terminate()
            throw error
        }
        for _ in 0..<1200 {
            let output = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix("mall listening on ") }), output.contains(line + "\n") {
                return ServerProcess(process: process, baseURL: URL(string: String(line.dropFirst("mall listening on ".count)))!, directory: directory)
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw BenchError("mall serve did not start: \(String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self))")
    }

    /// CPU time the server process has used so far (user + system), from `/proc/<pid>/stat`.
    func cpuTime() -> Duration? {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let end = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name: state is field 3, utime 14, stime 15 (clock ticks).
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 13, let user = Int64(fields[11]), let system = Int64(fields[12]) else { return nil }
        let ticks = Int64(sysconf(Int32(_SC_CLK_TCK)))
        return .milliseconds((user + system) * 1000 / ticks)
    }

    /// The last `count` lines the server wrote (standard output and error).
    func logTail(_ count: Int) -> String {
        let log = String(decoding: (try? Data(contentsOf: directory.appendingPathComponent("server.log"))) ?? Data(), as: UTF8.self)
        return log.split(separator: "\n").suffix(count).joined(separator: "\n")
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// The load generator: URLSession with keep-alive connections to 127.0.0.1.
struct BenchClient: Sendable {
    let baseURL: URL
    let session: URLSession

    init(baseURL: URL, connections: Int) {
        self.baseURL = baseURL
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = connections
        configuration.timeoutIntervalForRequest = 60
        session = URLSession(configuration: configuration)
    }

    func send(_ method: String, _ path: String, body: [String: Any]? = nil, token: String? = nil) async throws -> (Int, Any?) {
        var request = URLRequest(url: URL(string: baseURL.absoluteString + path)!)
        request.httpMethod = method
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await session.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, data.isEmpty ? nil : try? JSONSerialization.jsonObject(with: data))
    }

    /// A request whose answer is text (`/metrics`).
    func sendText(_ method: String, _ path: String, token: String? = nil) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: baseURL.absoluteString + path)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await session.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
    }

    /// Registers and logs in `count` members; returns their tokens.
    func members(_ count: Int) async throws -> [String] {
        var tokens: [String] = []
        for index in 0..<count {
            let email = "bench\(index)@example.com"
            _ = try await send("POST", "/members", body: ["email": email, "password": "bench-password", "name": "Bench \(index)"])
            let (status, body) = try await send("POST", "/sessions", body: ["email": email, "password": "bench-password"])
            guard status == 201, let token = (body as? [String: Any])?["token"] as? String else { throw BenchError("log-in answered \(status)") }
            tokens.append(token)
        }
        return tokens
    }

    func receiveStock(sku: String, quantity: Int) async throws {
        let (status, _) = try await send("POST", "/admin/stock/\(sku)/receipts", body: ["quantity": quantity], token: ServerProcess.adminToken)
        guard status == 201 else { throw BenchError("stock receipt for \(sku) answered \(status)") }
    }

    /// Polls until every subscription has processed every event, every `interval` (each
    /// poll costs the server a look at every checkpoint), for five minutes at most.
    func waitUntilCaughtUp(every interval: Duration = .milliseconds(5)) async throws {
        let deadline = ContinuousClock.now + .seconds(300)
        while ContinuousClock.now < deadline {
            let statuses = try await subscriptionStatuses()
            if !statuses.isEmpty, statuses.allSatisfy({ ($0["lag"] as? Int) == 0 }) { return }
            try await Task.sleep(for: interval)
        }
        throw BenchError("subscriptions did not catch up")
    }

    /// `GET /admin/subscriptions`.
    func subscriptionStatuses() async throws -> [[String: Any]] {
        let (_, body) = try await send("GET", "/admin/subscriptions", token: ServerProcess.adminToken)
        return body as? [[String: Any]] ?? []
    }

    /// The orders reconciliation counts (following a long run that answers 202 to its report).
    func storedOrderCount() async throws -> Int {
        var (status, body) = try await send("GET", "/admin/reconciliation", token: ServerProcess.adminToken)
        while status == 202, let run = (body as? [String: Any])?["run"] as? Int {
            (status, body) = try await send("GET", "/admin/reconciliation/runs/\(run)", token: ServerProcess.adminToken)
        }
        return (body as? [String: Any])?["orders"] as? Int ?? 0
    }
}
