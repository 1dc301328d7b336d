import Foundation
import Logging
import Scheduling
import Resilience
import Herald
import MallGateway
import MallKernel
import MallPricing
import MallOrdering

/// Everything `mall serve` and friends can be told, with the defaults of a fresh checkout.
public struct MallConfiguration: Sendable {
    /// A SQLite file path, or a `postgres://` URL.
    public var database: String = "mall.sqlite"
    /// The PostgreSQL schema holding the tables (PostgreSQL only).
    public var postgresSchema: String = "herald"
    /// The longest one PostgreSQL operation may take (waiting for a connection included)
    /// before it fails as unavailable: how long a request waits during an outage before
    /// its 503.
    public var postgresOperationTimeout: Duration = .seconds(5)
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// How long an order may wait for payment before it is cancelled.
    public var paymentWindow: Duration = .seconds(15 * 60)
    /// The secret the payment gateway signs callbacks with; when `nil`, a random 256-bit
    /// secret is generated on first start, stored in the database and printed once.
    public var gatewaySecret: String?
    /// The payment gateway's base URL (`mall gateway serve` prints it); when `nil`,
    /// `mall serve` runs the fake gateway in process.
    public var gatewayURL: String?
    /// The in-process fake gateway's knobs at start (``GatewayKnobs``; any subset, as JSON
    /// in `MALL_GATEWAY_KNOBS`), e.g. `{"callbacks":false}` to sign callbacks by hand.
    public var inProcessGatewayKnobs = GatewayKnobs()
    /// How long a call to the payment gateway may take before it counts as failed.
    public var gatewayTimeout: Duration = .seconds(2)
    /// When the payment-deadline sweeper runs (a cron expression, UTC): every minute.
    public var deadlineSweepSchedule = try! CronSchedule("0 * * * * *")
    /// How long past its deadline an unpaid order is left to its deadline message before
    /// the sweeper cancels it.
    public var deadlineSweepGrace: Duration = .seconds(60)
    /// How many items the sweeper's job has: how many nodes can share its work.
    public var deadlineSweepItems = 4
    /// When the subscription-health job looks (a cron expression, UTC): every 30 seconds.
    public var subscriptionHealthSchedule = try! CronSchedule("*/30 * * * * *")
    /// How many events a subscription or projection may be behind before the health job
    /// reports it.
    public var subscriptionLagLimit: Int64 = 10_000
    /// When the reconciliation job checks every rule and repairs what is safe (a cron
    /// expression, UTC): every 15 minutes.
    public var reconcileSchedule = try! CronSchedule("*/15 * * * *")
    /// How long the reconciliation job waits for the subscriptions to handle the log before
    /// it repairs (it postpones its repairs when they have not).
    public var reconcileSettleTimeout: Duration = .seconds(60)
    /// When the retention job prunes (a cron expression, UTC): hourly, at minute 17.
    public var retentionSchedule = try! CronSchedule("17 * * * *")
    /// How long what the retention job prunes is kept: handled events, expired sessions,
    /// idempotency records, inbox entries, job runs (`MALL_RETENTION_DAYS`, default 30).
    public var retention: Duration = .seconds(30 * 24 * 3600)
    /// How often each node reads the governance rules and the fault drills, in case a
    /// change's announcement did not reach it (on PostgreSQL it usually does at once).
    public var followPollInterval: Duration = .seconds(1)
    /// The admin bearer token; when `nil` one is generated on first start and printed once.
    public var adminToken: String?
    /// The key Mall sends the payment gateway with every call (`Authorization: Bearer`):
    /// what the gateway knows its merchant by. `nil` with the in-process fake gateway: a
    /// random one for this start, so nothing else on the machine can use its API.
    public var gatewayAPIKey: String?
    /// Whether `mall serve` may run the fake gateway in process (no ``gatewayURL``) where the
    /// configuration looks like a real shop's: a PostgreSQL database or
    /// ``environment`` `production`. The fake takes every payment as paid.
    public var fakeGatewayAllowed = false
    /// Proxies whose `Forwarded` / `X-Forwarded-For` headers the server believes about the
    /// client's address (none by default: a header from anyone else is ignored, or any
    /// client could pose as any address and escape every limit per address).
    public var trustedProxies: [IPNetwork] = []
    /// `MALL_ENV`: `production` marks a real shop (the fake gateway is then refused unless
    /// ``fakeGatewayAllowed``); anything else, or nothing, is a demo or a test.
    public var environment: String?
    /// bcrypt's cost factor for member passwords (each +1 doubles the work).
    public var passwordCost: UInt8 = 10
    /// Threads hashing passwords, beside Swift's cooperative pool (default: one per core).
    public var passwordThreads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Password checks that may wait for a thread; past them a registration or log-in gets
    /// 503 with `Retry-After` at once.
    public var passwordQueue: Int = 64
    /// How the hashing threads are scheduled (Linux): `idle` by default, so a log-in storm
    /// yields the cores to request handling (see `mall-bench --login-storm` in BENCHMARKS.md).
    public var passwordPriority: BoundedThreadPool.Priority = .idle
    /// Largest request body accepted, in bytes.
    public var maxBodyBytes: Int = 64 * 1024
    /// Open HTTP connections at most; beyond them new connections wait in the listen backlog.
    public var maxConnections: Int = 2048
    /// A connection that completes no request part for this long is closed.
    public var idleTimeout: Duration = .seconds(60)
    /// A new connection must have sent its whole request head within this time.
    public var requestHeadTimeout: Duration = .seconds(10)
    /// A request's body must have arrived within this time of its head.
    public var requestBodyTimeout: Duration = .seconds(30)
    /// How long each subscription waits after a wake-up before reading (see
    /// `Subscription.wakeDelay`): a little delivery latency for far fewer reads under load.
    public var subscriptionWakeDelay: Duration = .milliseconds(2)
    /// Partitions of each saga subscription (`MALL_PARTITIONS`; `nil` or 0: not
    /// partitioned). By default 4 on PostgreSQL, where the nodes share them through leases
    /// (see ``Mall/subscriptions(retryPolicy:)``), and none on SQLite (one node). Up to that
    /// many nodes share the saga; more partitions cost every node more (each partition
    /// batches its own events: on one node capped at a quarter core, 8 partitions took 1.36
    /// subscription commits per order against 0.50 for 4, and placed 22 orders/s against 33).
    public var partitions: Int?
    /// How long a node's partition leases last without renewal (`MALL_PARTITION_LEASE_SECONDS`):
    /// how long a killed node's partitions wait before another node (or the node, restarted)
    /// takes them. Renewed every third of it.
    public var partitionLease: Duration = .seconds(10)
    /// ``partitions`` as set, or the store's default.
    public var partitionCount: Int? {
        let count = partitions ?? (usesPostgres ? 4 : nil)
        return count == 0 ? nil : count
    }
    /// Partitions of each order projection where the saga is partitioned
    /// (`MALL_PROJECTION_PARTITIONS`, 1 by default; see ``Mall/projections(retryPolicy:)``).
    /// With 1, each projection runs on one node at a time, and the nodes share the
    /// projections rather than their partitions: with 4, each projection's four workers read
    /// the log and commit apart (1.22 subscription commits per order against 0.64), and one
    /// node capped at a quarter core placed 19 orders/s against 22 with one partition each.
    public var projectionPartitions = 1
    /// Whether to seed the demo catalog into an empty database.
    public var seedDemoCatalog = true
    public var pricing: PricingPolicy = MallConfiguration.defaultPricing
    /// What an acknowledged write survives (SQLite; PostgreSQL follows its server's
    /// settings). `full` by default: the store's writer commits concurrent orders together,
    /// so one fsync serves many and orders end to end are as fast as under `normal`
    /// (`mall-bench --durability`, BENCHMARKS.md).
    public var durability: Durability = .full
    /// Whether the server counts requests and serves `GET /metrics` (`MALL_METRICS`, on by default).
    public var metrics = true
    /// How much of the SQLite file each read connection maps into memory, in MiB (0: none).
    /// Reads of a large catalog then skip a system call and a copy per page; the mapped
    /// pages count towards resident memory while the kernel keeps them.
    public var sqliteMemoryMapMiB: Int = 256
    /// Rendered pages of `GET /products` kept in memory, each served again while the
    /// catalog's listing has not changed since (0: none; see `ListingPages`).
    public var listingCachePages = 1024
    /// Orders one member may have awaiting payment at once (an account cannot hold the
    /// shop's stock hostage with unpaid orders).
    public var maxUnpaidOrdersPerMember: Int = 5
    /// Units of one SKU per order line.
    public var maxLineQuantity: Int = 20
    /// Failed log-ins one client address may make: a burst, then one per refill (429 with
    /// `Retry-After` beyond, before any password is hashed). Successful log-ins are free.
    public var failedLoginLimit = RateLimitPolicy(rate: 6.0 / 60, burst: 10)
    /// Log-ins one client address may make, whatever their outcome (429 beyond, before any
    /// password is hashed): generous for a household or an office behind one address.
    public var loginLimitPerAddress = RateLimitPolicy(rate: 30.0 / 60, burst: 30)
    /// Failed log-ins to one account from addresses it has not logged in from before: ten,
    /// then one every 30 s. A stranger rotating addresses gets two guesses a minute; the
    /// member, from an address they used before, is never held by it, and from a new one
    /// waits at most 30 s (`Retry-After`).
    public var failedLoginLimitPerAccount = RateLimitPolicy(rate: 2.0 / 60, burst: 10)
    /// Successful log-ins to one account: ten, then one every 6 s. Only the password's
    /// holder spends these: no stranger can lock a member out with them.
    public var loginLimitPerAccount = RateLimitPolicy(rate: 10.0 / 60, burst: 10)
    /// Live sessions one member may have; a log-in past it ends the oldest.
    public var maxSessionsPerMember = 10
    /// Registrations one client address may make.
    public var registrationLimit = RateLimitPolicy(rate: 1, burst: 100)
    /// Orders one member may place (`POST /orders`, replays included).
    public var orderLimit = RateLimitPolicy(rate: 1, burst: 20)
    /// Whether the four limits above and below apply at all (off: for a shop behind a proxy
    /// that enforces its own, or to measure what they cost).
    public var ingressLimits = true
    /// Requests handled at once (health checks aside); beyond them requests are shed at once
    /// with 503 and `Retry-After`, so latency stays bounded instead of growing with the queue.
    public var maxRequestsInFlight = 1024
    /// How `mall serve` writes its log lines.
    public var logFormat: LogFormat = .text
    /// Whether requests, commits and handler calls are traced (spans kept in memory, the
    /// W3C trace context carried by every event); off, only an incoming `traceparent` is
    /// passed on to the events a request records.
    public var tracing = true
    /// Finished spans kept in memory, the latest first (`GET /admin/traces/{id}`).
    public var tracedSpans = 10_000
    /// The least severe level `mall serve` writes (`debug` adds, among others, each
    /// service's start and end of the graceful shutdown).
    public var logLevel: Logger.Level = .info

    public init() {}

    /// SQLite's `synchronous` mode, as a promise.
    public enum Durability: String, Sendable, CaseIterable {
        /// `synchronous = FULL`: an acknowledged order or payment is on disk; it survives a
        /// power loss or an operating-system crash. Every commit waits for an fsync.
        case full
        /// `synchronous = NORMAL` (WAL): an acknowledged commit survives a crash of the
        /// process (SIGKILL); a power loss may lose the last commits before the WAL was synced.
        case normal
    }

    /// A setting that is on or off.
    public enum Switch: String, Sendable, CaseIterable {
        case on
        case off
    }

    /// Log lines as text (`2026-11-30T12:00:00Z info mall: [key=value] message`) or as one
    /// JSON object per line.
    public enum LogFormat: String, Sendable, CaseIterable {
        case text, json
    }

    public static let currency = "USD"

    public static let defaultPricing = PricingPolicy(
        currency: currency,
        memberDiscounts: [.regular: .zero, .silver: Rate(percent: 5), .gold: Rate(percent: 10)],
        freight: [
            .standard: FreightRate(
                name: "Standard delivery", baseFee: Money(minorUnits: 500, currency: currency), includedGrams: 1000,
                feePerExtraKilogram: Money(minorUnits: 200, currency: currency), freeOver: Money(minorUnits: 9900, currency: currency)),
            .express: FreightRate(
                name: "Express delivery", baseFee: Money(minorUnits: 1500, currency: currency), includedGrams: 1000,
                feePerExtraKilogram: Money(minorUnits: 300, currency: currency), freeOver: nil),
        ])

    /// Reads `MALL_*` variables over the defaults (every one is in `docs/CONFIGURATION.md`).
    ///
    /// - Throws: ``ConfigurationError`` naming the variable and what it allows.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> MallConfiguration {
        try read(Settings(environment: environment))
    }

    /// Every variable ``fromEnvironment(_:)`` reads, in the order it reads them: what
    /// `docs/CONFIGURATION.md` must document (a test checks the two against each other).
    public static var environmentVariables: [String] {
        let names = Settings.Names()
        _ = try? read(Settings(environment: [:], names: names))
        return names.read
    }

    private static func read(_ settings: Settings) throws -> MallConfiguration {
        var configuration = MallConfiguration()
        if let value = settings.text("MALL_DATABASE_URL") { configuration.database = value }
        if let value = settings.text("MALL_HOST") { configuration.host = value }
        if let value = settings.text("MALL_POSTGRES_SCHEMA") { configuration.postgresSchema = value }
        if let value = try settings.seconds("MALL_POSTGRES_TIMEOUT_SECONDS") { configuration.postgresOperationTimeout = value }
        if let value = settings.text("MALL_PORT") { configuration.port = try port(value, setting: "MALL_PORT") }
        if let value = settings.text("MALL_PAYMENT_WINDOW_SECONDS") {
            configuration.paymentWindow = try paymentWindow(value, setting: "MALL_PAYMENT_WINDOW_SECONDS")
        }
        if let value = settings.text("MALL_GATEWAY_SECRET") { configuration.gatewaySecret = value }
        if let value = settings.text("MALL_GATEWAY_URL") { configuration.gatewayURL = value }
        if let value = settings.text("MALL_GATEWAY_KNOBS") { configuration.inProcessGatewayKnobs = try GatewayKnobs.parse(value, setting: "MALL_GATEWAY_KNOBS") }
        if let value = settings.text("MALL_ADMIN_TOKEN") { configuration.adminToken = value }
        if let path = settings.text("MALL_ADMIN_TOKEN_FILE") { configuration.adminToken = try secret(fromFile: path, setting: "MALL_ADMIN_TOKEN_FILE") }
        if let path = settings.text("MALL_GATEWAY_SECRET_FILE") {
            configuration.gatewaySecret = try secret(fromFile: path, setting: "MALL_GATEWAY_SECRET_FILE")
        }
        if let value = settings.text("MALL_GATEWAY_API_KEY") { configuration.gatewayAPIKey = value }
        if let path = settings.text("MALL_GATEWAY_API_KEY_FILE") {
            configuration.gatewayAPIKey = try secret(fromFile: path, setting: "MALL_GATEWAY_API_KEY_FILE")
        }
        if let value = try settings.choice("MALL_FAKE_GATEWAY", Switch.self) { configuration.fakeGatewayAllowed = value == .on }
        if let value = settings.text("MALL_ENV") { configuration.environment = value }
        if let value = settings.text("MALL_TRUSTED_PROXIES") {
            configuration.trustedProxies = try value.split(separator: ",").map { try IPNetwork(parsing: String($0), setting: "MALL_TRUSTED_PROXIES") }
        }
        if let cost = try settings.integer("MALL_PASSWORD_COST", 4...31) { configuration.passwordCost = UInt8(cost) }
        if let value = try settings.integer("MALL_PASSWORD_THREADS", 1...256) { configuration.passwordThreads = value }
        if let value = try settings.integer("MALL_PASSWORD_QUEUE", 0...100_000) { configuration.passwordQueue = value }
        if let value = settings.text("MALL_PASSWORD_PRIORITY") {
            configuration.passwordPriority = try threadPriority(value, setting: "MALL_PASSWORD_PRIORITY")
        }
        if let value = try settings.integer("MALL_MAX_CONNECTIONS", 1...1_000_000) { configuration.maxConnections = value }
        if let value = try settings.seconds("MALL_IDLE_TIMEOUT_SECONDS") { configuration.idleTimeout = value }
        if let value = try settings.seconds("MALL_GATEWAY_TIMEOUT_SECONDS") { configuration.gatewayTimeout = value }
        if let value = try settings.seconds("MALL_FOLLOW_POLL_SECONDS") { configuration.followPollInterval = value }
        func schedule(_ setting: String) throws -> CronSchedule? {
            guard let value = settings.text(setting) else { return nil }
            do {
                return try CronSchedule(value)
            } catch let error as CronExpressionError {
                throw ConfigurationError(setting: setting, value: value, allowed: "a cron expression (\(error))")
            }
        }
        if let value = try schedule("MALL_DEADLINE_SWEEP_SCHEDULE") { configuration.deadlineSweepSchedule = value }
        if let value = try schedule("MALL_RECONCILE_SCHEDULE") { configuration.reconcileSchedule = value }
        if let value = try schedule("MALL_RETENTION_SCHEDULE") { configuration.retentionSchedule = value }
        if let days = try settings.integer("MALL_RETENTION_DAYS", 1...3650) { configuration.retention = .seconds(days * 24 * 3600) }
        if let value = try settings.seconds("MALL_DEADLINE_SWEEP_GRACE_SECONDS") { configuration.deadlineSweepGrace = value }
        if let value = try settings.integer("MALL_DEADLINE_SWEEP_ITEMS", 1...UnpaidOrders.bucketCount) { configuration.deadlineSweepItems = value }
        if let value = try settings.integer("MALL_SUBSCRIPTION_LAG_LIMIT", 1...1_000_000_000) { configuration.subscriptionLagLimit = Int64(value) }
        if let value = try settings.seconds("MALL_REQUEST_HEAD_TIMEOUT_SECONDS") { configuration.requestHeadTimeout = value }
        if let value = try settings.seconds("MALL_REQUEST_BODY_TIMEOUT_SECONDS") { configuration.requestBodyTimeout = value }
        if let milliseconds = try settings.integer("MALL_SUBSCRIPTION_WAKE_DELAY_MS", 0...500) {
            configuration.subscriptionWakeDelay = .milliseconds(milliseconds)
        }
        if let value = try settings.integer("MALL_PARTITIONS", 0...1024) { configuration.partitions = value }
        if let value = try settings.integer("MALL_PROJECTION_PARTITIONS", 1...1024) { configuration.projectionPartitions = value }
        if let value = try settings.integer("MALL_PARTITION_LEASE_SECONDS", 1...300) { configuration.partitionLease = .seconds(value) }
        if let value = try settings.choice("MALL_DURABILITY", Durability.self) { configuration.durability = value }
        if let value = try settings.integer("MALL_SQLITE_MMAP_MIB", 0...65_536) { configuration.sqliteMemoryMapMiB = value }
        if let value = try settings.integer("MALL_LISTING_CACHE_PAGES", 0...100_000) { configuration.listingCachePages = value }
        if let value = try settings.integer("MALL_MAX_UNPAID_ORDERS", 1...10_000) { configuration.maxUnpaidOrdersPerMember = value }
        if let value = try settings.integer("MALL_MAX_LINE_QUANTITY", 1...999) { configuration.maxLineQuantity = value }
        if let value = try settings.choice("MALL_LOG_FORMAT", LogFormat.self) { configuration.logFormat = value }
        if let value = try settings.choice("MALL_LOG_LEVEL", Logger.Level.self) { configuration.logLevel = value }
        if let value = try settings.choice("MALL_METRICS", Switch.self) { configuration.metrics = value == .on }
        if let value = try settings.choice("MALL_TRACING", Switch.self) { configuration.tracing = value == .on }
        if let value = try settings.integer("MALL_TRACED_SPANS", 1...1_000_000) { configuration.tracedSpans = value }
        try settings.rateLimit("MALL_FAILED_LOGINS", &configuration.failedLoginLimit)
        try settings.rateLimit("MALL_LOGINS_PER_ADDRESS", &configuration.loginLimitPerAddress)
        try settings.rateLimit("MALL_FAILED_LOGINS_PER_ACCOUNT", &configuration.failedLoginLimitPerAccount)
        try settings.rateLimit("MALL_LOGINS_PER_ACCOUNT", &configuration.loginLimitPerAccount)
        if let value = try settings.integer("MALL_MAX_SESSIONS", 1...1000) { configuration.maxSessionsPerMember = value }
        try settings.rateLimit("MALL_REGISTRATIONS", &configuration.registrationLimit)
        try settings.rateLimit("MALL_ORDERS", &configuration.orderLimit)
        if let value = try settings.integer("MALL_MAX_REQUESTS_IN_FLIGHT", GovernanceRules.maxRequestsInFlightRange) {
            configuration.maxRequestsInFlight = value
        }
        if let value = try settings.choice("MALL_INGRESS_LIMITS", Switch.self) { configuration.ingressLimits = value == .on }
        try configuration.validate()
        return configuration
    }

    /// Reads one kind of value from the environment, naming the variable when it is wrong.
    struct Settings {
        /// The names read, in order (to list the variables there are).
        final class Names {
            var read: [String] = []
        }

        let environment: [String: String]
        var names: Names? = nil

        func text(_ name: String) -> String? {
            names?.read.append(name)
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }

        func integer(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let text = text(name) else { return nil }
            return try MallConfiguration.integer(text, range, setting: name)
        }

        func seconds(_ name: String) throws -> Duration? {
            guard let text = text(name) else { return nil }
            return try MallConfiguration.seconds(text, setting: name)
        }

        /// `NAME_PER_MINUTE` (the refill) and `NAME_BURST` over `limit`, within the ranges
        /// `/admin/rules` accepts (``GovernanceRules/Limit``).
        func rateLimit(_ name: String, _ limit: inout RateLimitPolicy) throws {
            let range = GovernanceRules.Limit.perMinuteRange
            if let text = text(name + "_PER_MINUTE") {
                guard let perMinute = Double(text), range.contains(perMinute) else {
                    throw ConfigurationError(
                        setting: name + "_PER_MINUTE", value: text, allowed: "a number \(range.lowerBound) ... \(Int(range.upperBound))")
                }
                limit.rate = perMinute / 60
            }
            if let burst = try integer(name + "_BURST", GovernanceRules.Limit.burstRange) { limit.burst = burst }
        }

        func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) throws -> T? where T.RawValue == String {
            guard let text = text(name) else { return nil }
            return try MallConfiguration.choice(text, type, setting: name)
        }
    }

    /// `idle`, `normal`, or a nice value 1 … 19.
    public static func threadPriority(_ text: String, setting: String) throws -> BoundedThreadPool.Priority {
        switch text.lowercased() {
        case "idle": return .idle
        case "normal", "0": return .normal
        default:
            guard let niceness = Int32(text), (1...19).contains(niceness) else {
                throw ConfigurationError(setting: setting, value: text, allowed: "idle, normal, or a nice value 1 ... 19")
            }
            return .nice(niceness)
        }
    }

    public static func integer(_ text: String, _ range: ClosedRange<Int>, setting: String) throws -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(setting: setting, value: text, allowed: "an integer \(range.lowerBound) ... \(range.upperBound)")
        }
        return value
    }

    /// A secret kept in a file (its first line; a trailing newline is not part of it): a way
    /// to give a secret that, unlike a command-line argument, other users cannot read in
    /// `/proc/PID/cmdline`.
    ///
    /// - Throws: ``ConfigurationError`` naming `setting` when the file cannot be read or is empty.
    public static func secret(fromFile path: String, setting: String) throws -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError(setting: setting, value: path, allowed: "a readable file holding the secret (\(error.localizedDescription))")
        }
        guard data.count <= 4096 else { throw ConfigurationError(setting: setting, value: path, allowed: "a file of at most 4096 bytes") }
        let secret = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).first
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        guard !secret.isEmpty else { throw ConfigurationError(setting: setting, value: path, allowed: "a file whose first line is the secret (it is empty)") }
        return secret
    }

    /// What the operator is told wherever they look while the fake gateway runs in process.
    public static let fakeGatewayWarning =
        "FAKE payment gateway in process: every payment succeeds and no money moves. For a demo only; a shop gives --gateway-url."

    /// Whether the configuration looks like a real shop's: a PostgreSQL database (the
    /// scale-out store) or `MALL_ENV=production`.
    public var looksLikeProduction: Bool { usesPostgres || environment?.lowercased() == "production" }

    /// A timeout in seconds, 0.1 ... 3600.
    public static func seconds(_ text: String, setting: String) throws -> Duration {
        guard let seconds = Double(text), seconds >= 0.1, seconds <= 3600 else {
            throw ConfigurationError(setting: setting, value: text, allowed: "seconds, 0.1 ... 3600")
        }
        return .milliseconds(Int64(seconds * 1000))
    }

    public static func choice<T: RawRepresentable & CaseIterable>(_ text: String, _ type: T.Type, setting: String) throws -> T where T.RawValue == String {
        guard let value = T(rawValue: text.lowercased()) else {
            throw ConfigurationError(setting: setting, value: text, allowed: "one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return value
    }

    public static func port(_ text: String, setting: String) throws -> Int {
        guard let port = Int(text), (0...65535).contains(port) else {
            throw ConfigurationError(setting: setting, value: text, allowed: "a port number 0...65535 (0: any free port)")
        }
        return port
    }

    public static func paymentWindow(_ text: String, setting: String) throws -> Duration {
        guard let seconds = Double(text), seconds >= 0.01, seconds <= 7 * 24 * 3600 else {
            throw ConfigurationError(setting: setting, value: text, allowed: "seconds, 0.01 ... 604800")
        }
        return .milliseconds(Int64(seconds * 1000))
    }

    public func validate() throws {
        if let gatewaySecret, gatewaySecret.utf8.count < 16 {
            throw ConfigurationError(setting: "gateway secret", value: "\(gatewaySecret.utf8.count) bytes", allowed: "at least 16 bytes")
        }
        if let gatewayURL, !(gatewayURL.hasPrefix("http://") || gatewayURL.hasPrefix("https://")) || URL(string: gatewayURL)?.host == nil {
            throw ConfigurationError(setting: "gateway URL", value: gatewayURL, allowed: "an http:// or https:// URL with a host")
        }
        if let adminToken, adminToken.utf8.count < 16 {
            throw ConfigurationError(setting: "admin token", value: "\(adminToken.utf8.count) bytes", allowed: "at least 16 bytes")
        }
        if let gatewayAPIKey, gatewayAPIKey.utf8.count < 16 {
            throw ConfigurationError(setting: "gateway API key", value: "\(gatewayAPIKey.utf8.count) bytes", allowed: "at least 16 bytes")
        }
        guard (4...31).contains(passwordCost) else {
            throw ConfigurationError(setting: "password cost", value: "\(passwordCost)", allowed: "4 ... 31")
        }
        guard passwordThreads >= 1 else {
            throw ConfigurationError(setting: "password threads", value: "\(passwordThreads)", allowed: "at least 1")
        }
        guard maxLineQuantity >= 1, maxLineQuantity <= 999 else {
            throw ConfigurationError(setting: "max line quantity", value: "\(maxLineQuantity)", allowed: "1 ... 999")
        }
        guard maxUnpaidOrdersPerMember >= 1 else {
            throw ConfigurationError(setting: "max unpaid orders", value: "\(maxUnpaidOrdersPerMember)", allowed: "at least 1")
        }
        try failedLoginLimit.validate()
        try loginLimitPerAddress.validate()
        try failedLoginLimitPerAccount.validate()
        try loginLimitPerAccount.validate()
        guard (1...1000).contains(maxSessionsPerMember) else {
            throw ConfigurationError(setting: "max sessions per member", value: "\(maxSessionsPerMember)", allowed: "1 ... 1000")
        }
        try registrationLimit.validate()
        try orderLimit.validate()
        guard maxRequestsInFlight >= 1 else {
            throw ConfigurationError(setting: "max requests in flight", value: "\(maxRequestsInFlight)", allowed: "at least 1")
        }
    }
}

extension MallConfiguration {
    /// Whether ``database`` names a PostgreSQL server rather than a SQLite file.
    public var usesPostgres: Bool { database.hasPrefix("postgres://") || database.hasPrefix("postgresql://") }
}
