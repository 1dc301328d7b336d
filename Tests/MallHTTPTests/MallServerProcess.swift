import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MallPayment
import TestSupport
import Testing
import MallKernel

/// A real `mall serve` child process on a fresh SQLite file and a free loopback port.
final class MallServerProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched by the test that owns this object, one call at a time.
    static let adminToken = "test-admin-token-0123456789"
    static let gatewaySecret = "test-gateway-secret-0123456789"
    /// The merchant's API key at the gateway (the in-process fake's, or `mall gateway serve`'s).
    static let gatewayAPIKey = "test-gateway-api-key-0123456789"

    /// A SQLite path or a PostgreSQL URL.
    let database: String
    /// The PostgreSQL schema, fresh per test (PostgreSQL only).
    let schema: String?
    let logStem: String
    /// The current start's output (each start gets its own file).
    private(set) var logPath: String
    private(set) var process: Process?
    private(set) var baseURL: URL!
    let paymentWindow: Double
    /// `--gateway-secret`; `nil` lets the server generate and store one.
    let gatewaySecret: String?
    /// More `mall serve` arguments.
    let extraArguments: [String]
    /// `MALL_GATEWAY_KNOBS` of the in-process gateway: by default it sends no callbacks.
    var gatewayKnobs = #"{"callbacks":false}"#
    /// More `MALL_*` variables, over the test defaults.
    var environment: [String: String] = [:]
    /// Whether standard error goes to a file of its own (``errorLog``) instead of the log.
    var separateErrors = false
    /// Whether the test's admin token goes on the command line (`--admin-token`).
    var adminTokenArgument = true

    init(paymentWindow: Double = 900, backend: Backend = .sqlite, gatewaySecret: String? = MallServerProcess.gatewaySecret, arguments: [String] = []) {
        self.gatewaySecret = gatewaySecret
        self.extraArguments = arguments
        let id = UUID().uuidString.prefix(8)
        switch backend {
        case .sqlite:
            database = FileManager.default.temporaryDirectory.appendingPathComponent("mall-http-\(id).sqlite").path
            schema = nil
        case .postgres(let url):
            database = url ?? ""
            schema = "mall_\(id.lowercased())"
        }
        self.logStem = FileManager.default.temporaryDirectory.appendingPathComponent("mall-http-\(id)").path
        self.logPath = logStem + "-0.log"
        self.paymentWindow = paymentWindow
    }

    /// A second node on the same database.
    init(sharing other: MallServerProcess) {
        database = other.database
        schema = other.schema
        paymentWindow = other.paymentWindow
        gatewaySecret = other.gatewaySecret
        extraArguments = other.extraArguments
        environment = other.environment
        logStem = other.logStem + "-b"
        logPath = logStem + "-0.log"
    }

    /// This started server and, on PostgreSQL, a second node on its database, started too:
    /// the nodes a test of "every node follows" has on this backend (stop all but the first).
    func withPeer() async throws -> [MallServerProcess] {
        guard schema != nil else { return [self] }
        let second = MallServerProcess(sharing: self)
        try await second.start()
        return [self, second]
    }

    /// `--database …` (and `--schema …`) for `mall` commands on this server's data.
    var databaseArguments: [String] { ["--database", database] + (schema.map { ["--schema", $0] } ?? []) }

    static func executable() throws -> URL {
        let binDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let mall = binDirectory.appendingPathComponent("mall")
        try #require(FileManager.default.isExecutableFile(atPath: mall.path), "build mall first: swift build (looked in \(binDirectory.path))")
        return mall
    }

    /// Starts the server and waits for it to report its port.
    func start(port: Int = 0) async throws {
        if schema != nil, database.isEmpty { throw MissingPostgresServer() }
        starts += 1
        logPath = "\(logStem)-\(starts).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = Process()
        process.executableURL = try Self.executable()
        process.arguments = [
            "serve"] + databaseArguments + ["--host", "127.0.0.1", "--port", String(port), "--payment-window", String(paymentWindow),
        ] + (adminTokenArgument ? ["--admin-token", Self.adminToken] : []) + (gatewaySecret.map { ["--gateway-secret", $0] } ?? []) + extraArguments
        var environment = ProcessInfo.processInfo.environment
        environment["MALL_PASSWORD_COST"] = "4"
        // The shoppers of these tests order far faster than people (the limits have tests of their own).
        environment["MALL_ORDERS_PER_MINUTE"] = environment["MALL_ORDERS_PER_MINUTE"] ?? "1000000"
        environment["MALL_ORDERS_BURST"] = environment["MALL_ORDERS_BURST"] ?? "1000000"
        // Nor do their shoppers, all on 127.0.0.1, log in at a person's pace.
        environment["MALL_LOGINS_PER_ADDRESS_PER_MINUTE"] = environment["MALL_LOGINS_PER_ADDRESS_PER_MINUTE"] ?? "1000000"
        environment["MALL_LOGINS_PER_ADDRESS_BURST"] = environment["MALL_LOGINS_PER_ADDRESS_BURST"] ?? "1000000"
        // These tests sign the gateway's callbacks themselves, unless they ask for the gateway's.
        environment["MALL_GATEWAY_KNOBS"] = gatewayKnobs
        environment["MALL_GATEWAY_API_KEY"] = Self.gatewayAPIKey
        // On PostgreSQL too these tests run the fake gateway, which a shop that looks real
        // refuses unless told (a test of that refusal turns it off).
        environment["MALL_FAKE_GATEWAY"] = "on"
        // Debug adds each service's start and end of the shutdown: what a hung stop needs.
        environment["MALL_LOG_LEVEL"] = environment["MALL_LOG_LEVEL"] ?? "debug"
        environment.merge(self.environment) { $1 }
        process.environment = environment
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        if separateErrors {
            _ = FileManager.default.createFile(atPath: logPath + ".err", contents: nil)
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath + ".err"))
        } else {
            process.standardError = log
        }
        try process.run()
        self.process = process
        let start = Date()
        while Date().timeIntervalSince(start) < 120 {
            let output = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: logPath))) ?? Data(), as: UTF8.self)
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix("mall listening on http://") }), output.contains(line + "\n") {
                baseURL = URL(string: String(line.dropFirst("mall listening on ".count)))
                return
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ServerFailed(log: (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")
    }

    private var starts = 0

    /// This start's output so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// This start's standard error so far, with ``separateErrors``.
    var errorLog: String { (try? String(contentsOfFile: logPath + ".err", encoding: .utf8)) ?? "" }

    /// Runs `mall ARGUMENTS` on this server's database; returns its exit status and output.
    func runCommand(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = try Self.executable()
        process.arguments = arguments + databaseArguments
        let output = try await process.runCapturingOutput()
        return (process.terminationStatus, output)
    }

    /// Runs `mall ARGUMENTS` as given (no database options added); its exit status and output.
    func runCommandWithoutDatabase(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = try Self.executable()
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["MALL_DATABASE_URL"] = database.isEmpty ? nil : database + "-other"
        process.environment = environment
        let output = try await process.runCapturingOutput()
        return (process.terminationStatus, output)
    }

    /// SIGKILL: no chance to finish anything.
    func kill() async {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        await process.exit()
    }

    /// SIGTERM, and the graceful shutdown it starts; a server still running 90 s later is
    /// a failed test (a shutdown that hangs: the issue shows the log's last lines) and is
    /// killed. Running means not yet exited: Foundation may notice an exit seconds late on
    /// a loaded machine (it reaps children on a thread of its own), so this reads the
    /// process's state itself.
    func stop() async {
        guard let process, process.isRunning else { return }
        let child = Identity(process.processIdentifier)
        process.terminate()
        let started = ContinuousClock.now
        while !child.hasEnded, ContinuousClock.now < started + Self.stopAllowance { try? await Task.sleep(for: .milliseconds(20)) }
        let ended = ContinuousClock.now
        if !child.hasEnded {
            Issue.record("mall serve did not stop within \(Self.stopAllowance) of SIGTERM; its log ends:\n\(logTail())")
            await kill()
        }
        await process.exit()
        if ended - started > .seconds(10) || ContinuousClock.now - ended > .seconds(10) {
            print("mall serve took \(ended - started) to stop, and Foundation \(ContinuousClock.now - ended) more to notice; its log ends:\n\(logTail())")
        }
    }

    /// 90 s: with every suite at once on two cores, a stop that takes 20 ms alone has taken
    /// over 30 s (as Foundation saw it).
    static let stopAllowance = Duration.seconds(90)

    /// A process's identity: its id, and when it started (so an id used again by a later
    /// process is not taken for it).
    struct Identity: Sendable {
        let pid: pid_t
        let startTime: Substring?

        init(_ pid: pid_t) {
            self.pid = pid
            startTime = Self.stat(pid)?.dropFirst(19).first
        }

        /// The fields of `/proc/PID/stat` after the command's name: state first, start time 20th.
        static func stat(_ pid: pid_t) -> [Substring]? {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let name = stat.lastIndex(of: ")") else { return nil }
            return stat[stat.index(after: name)...].split(separator: " ")
        }

        /// Whether this process has exited, reaped or not (a zombie has).
        var hasEnded: Bool {
            guard let fields = Self.stat(pid), fields.dropFirst(19).first == startTime else { return true }
            return fields.first == "Z" || fields.first == "X"
        }
    }

    /// For `defer`, where nothing can wait: SIGTERM now; a thread of its own SIGKILLs a
    /// server still running 90 s later, and says so.
    func terminate() {
        guard let process, process.isRunning else { return }
        process.terminate()
        let child = Identity(process.processIdentifier), logPath = logPath
        Thread.detachNewThread {
            let deadline = Date().addingTimeInterval(90)
            while !child.hasEnded, Date() < deadline { usleep(50_000) }
            if !child.hasEnded, Foundation.kill(child.pid, SIGKILL) == 0 { print("mall serve did not stop within 90 s of SIGTERM; killed (log: \(logPath))") }
        }
    }

    /// The last lines of this start's log.
    func logTail(lines: Int = 40) -> String {
        log.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    deinit {
        // A test that failed early leaves its server running: it must not outlive the test.
        if let process, process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        if schema == nil {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        }
        for start in 0...starts {
            try? FileManager.default.removeItem(atPath: "\(logStem)-\(start).log")
            try? FileManager.default.removeItem(atPath: "\(logStem)-\(start).log.err")
        }
    }

    struct ServerFailed: Error, CustomStringConvertible {
        var log: String
        var description: String { "mall serve did not start:\n\(log)" }
    }
}

/// Where a test's server keeps its data: a fresh SQLite file, or a fresh schema on the
/// PostgreSQL server `scripts/test.sh` started (`HERALD_POSTGRES_URL`).
enum Backend: Sendable, CustomTestStringConvertible {
    case sqlite
    /// `url` is `nil` when no server was configured: a test of this case then fails at its
    /// server's start, saying how to get one (as every other PostgreSQL test does).
    case postgres(url: String?)

    static var postgresURL: String? {
        let url = ProcessInfo.processInfo.environment["HERALD_POSTGRES_URL"]
        return url?.isEmpty == false ? url : nil
    }

    /// Whether `HERALD_SKIP_POSTGRES=1` asked to leave PostgreSQL out.
    static var postgresSkipped: Bool { ProcessInfo.processInfo.environment["HERALD_SKIP_POSTGRES"] == "1" }

    /// SQLite always; PostgreSQL unless `HERALD_SKIP_POSTGRES=1` says to skip it. Without a
    /// configured server the PostgreSQL case runs and fails: it is never dropped silently.
    static var available: [Backend] { [.sqlite] + (postgresSkipped ? [] : [.postgres(url: postgresURL)]) }

    var testDescription: String {
        switch self {
        case .sqlite: "SQLite"
        case .postgres: "PostgreSQL"
        }
    }
}

/// No PostgreSQL server was configured for a test that needs one.
struct MissingPostgresServer: Error, CustomStringConvertible {
    var description: String {
        "HERALD_POSTGRES_URL is not set: run the tests through scripts/test.sh (or scripts/postgres.sh -- swift test); "
            + "set HERALD_SKIP_POSTGRES=1 to skip the PostgreSQL cases"
    }
}

/// A JSON response: status, headers, the body and the body parsed.
struct HTTPResult: @unchecked Sendable {
    // @unchecked: `json` holds JSONSerialization's immutable Foundation values.
    var status: Int
    var contentType: String?
    /// Lower-cased names.
    var headers: [String: String]
    var body: Data
    var json: Any?

    subscript(key: String) -> Any? { (json as? [String: Any])?[key] }
    func string(_ key: String) -> String? { self[key] as? String }
    var array: [[String: Any]] { json as? [[String: Any]] ?? [] }
}

/// The client side of the tests: a real server through URLSession (127.0.0.1 only), or
/// the API in process through HummingbirdTesting (``InProcessMall``).
struct MallClient: Sendable {
    /// Sends a request (method, path with query, headers, body) and returns the status,
    /// lower-cased headers and body.
    typealias Transport = @Sendable (String, String, [String: String], Data?) async throws -> (Int, [String: String], Data)
    let transport: Transport

    init(transport: @escaping Transport) { self.transport = transport }

    /// A client of the server at `baseURL`; `bearer` goes with every request that names no
    /// token of its own (a gateway's API key).
    init(baseURL: URL, bearer: String? = nil) {
        transport = { method, path, headers, body in
            var headers = headers
            if let bearer, headers["Authorization"] == nil { headers["Authorization"] = "Bearer \(bearer)" }
            var request = URLRequest(url: URL(string: baseURL.absoluteString + path)!)
            request.httpMethod = method
            request.timeoutInterval = 60
            request.httpBody = body
            for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            let (data, response) = try await URLSession.shared.data(for: request)
            let http = response as! HTTPURLResponse
            var fields: [String: String] = [:]
            for (name, value) in http.allHeaderFields { fields[String(describing: name).lowercased()] = String(describing: value) }
            return (http.statusCode, fields, data)
        }
    }

    func send(_ method: String, _ path: String, json body: Any? = nil, raw: Data? = nil, token: String? = nil, headers: [String: String] = [:]) async throws -> HTTPResult {
        var fields = headers
        let data = try raw ?? body.map { try JSONSerialization.data(withJSONObject: $0) }
        if data != nil { fields["Content-Type"] = "application/json" }
        if let token { fields["Authorization"] = "Bearer \(token)" }
        let (status, responseHeaders, responseBody) = try await transport(method, path, fields, data)
        return HTTPResult(
            status: status, contentType: responseHeaders["content-type"], headers: responseHeaders, body: responseBody,
            json: responseBody.isEmpty ? nil : try? JSONSerialization.jsonObject(with: responseBody))
    }

    /// Registers and logs in a member; returns (member id, token).
    func member(_ name: String) async throws -> (id: String, token: String) {
        let email = "\(name)-\(UUID().uuidString.prefix(8))@example.com"
        let registered = try await send("POST", "/members", json: ["email": email, "password": "correct horse", "name": name])
        try #require(registered.status == 201, "register: \(registered.json ?? "")")
        let session = try await send("POST", "/sessions", json: ["email": email, "password": "correct horse"])
        try #require(session.status == 201)
        return (registered.string("id")!, session.string("token")!)
    }

    static var address: [String: Any] { ["name": "Ada Lovelace", "phone": "+44 20 7946 0000", "line1": "12 St James's Square", "city": "London", "postcode": "SW1Y 4JH"] }

    func placeOrder(
        _ token: String, _ lines: [(String, Int)], coupon: String? = nil, key: String? = nil, headers: [String: String] = [:]
    ) async throws -> HTTPResult {
        var body: [String: Any] = [
            "lines": lines.map { ["sku": $0.0, "quantity": $0.1] }, "address": Self.address, "paymentMethod": "card", "delivery": "standard",
        ]
        if let coupon { body["couponCode"] = coupon }
        return try await send("POST", "/orders", json: body, token: token, headers: headers.merging(key.map { ["Idempotency-Key": $0] } ?? [:]) { $1 })
    }

    /// The payment gateway's callback for a started payment (the answer to
    /// `POST /orders/{id}/payments`), signed now with the test server's gateway secret.
    func gatewayCallback(
        for started: HTTPResult, outcome: GatewayOutcome = .succeeded, secret: String = MallServerProcess.gatewaySecret,
        at date: Date = Date(), headers: [String: String] = [:]
    ) async throws -> HTTPResult {
        let paymentID = try #require(started.string("paymentId"), "a started payment: \(started.json ?? "")")
        let amount = try #require(started["amount"] as? [String: Any])
        let money = Money(minorUnits: Int64(try #require(amount["minorUnits"] as? Int)), currency: try #require(amount["currency"] as? String))
        let report = GatewayReport(paymentID: paymentID, outcome: outcome, amount: money, timestamp: Int64(date.timeIntervalSince1970))
        return try await send("POST", "/payment-gateway/callbacks", json: [
            "paymentId": paymentID, "outcome": outcome.rawValue, "amount": amount, "timestamp": report.timestamp,
            "signature": GatewaySignature(secret: secret).sign(report),
        ], headers: headers)
    }

    /// Polls the order until it has `status` (the saga runs in the server's subscriptions).
    @discardableResult
    func waitForOrder(_ id: String, token: String, status: String, timeout: Double = 60) async throws -> HTTPResult {
        var last: HTTPResult?
        try await eventually("order \(id) becomes \(status)", timeout: .seconds(timeout)) {
            last = try await send("GET", "/orders/\(id)", token: token)
            return last?.string("status") == status
        }
        return try #require(last)
    }

    /// Waits until every subscription and projection has handled the whole log: what a
    /// test reading the read side (the order history, the listing) needs after a write.
    ///
    /// - Parameter except: subscriptions (by name) not waited for.
    func waitUntilCaughtUp(except: Set<String> = []) async throws {
        try await eventually("every subscription and projection caught up") {
            let statuses = try await send("GET", "/admin/subscriptions", token: MallServerProcess.adminToken).array
                .filter { !except.contains($0["name"] as? String ?? "") }
            return !statuses.isEmpty && statuses.allSatisfy { ($0["lag"] as? Int) == 0 }
        }
    }
}
