import ArgumentParser
import Foundation
import Logging
import MallApplication
import MallComposition
import MallHTTP
import MallKernel
import MallOperations

/// `mall`: the Mall back end's command line.
@main
struct MallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mall",
        abstract: "Mall, the event-driven e-commerce back end built on Herald.",
        subcommands: [Serve.self, Demo.self, Reconcile.self, DeadLettersCommand.self, ProjectionsCommand.self, RulesCommand.self, DrillCommand.self, JobsCommand.self, Events.self, Trace.self, Gateway.self],
        defaultSubcommand: Serve.self)
}

/// Options every command that opens the shop's database shares.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "SQLite file path (default ./mall.sqlite, or MALL_DATABASE_URL).")
    var database: String?
    @Option(name: .long, help: "PostgreSQL schema for the tables (MALL_POSTGRES_SCHEMA, default herald).")
    var schema: String?

    func configuration() throws -> MallConfiguration {
        var configuration = try MallConfiguration.fromEnvironment()
        if let database { configuration.database = database }
        if let schema { configuration.postgresSchema = schema }
        return configuration
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API (creates, migrates and seeds the database on first start).",
        discussion: """
            Without --gateway-url the payments go to a FAKE gateway in this process, which takes every payment as paid: \
            for the demo. A shop gives --gateway-url and its API key.
            """)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Address to listen on (MALL_HOST).") var host: String?
    @Option(help: "Port to listen on, 0 for any free port (MALL_PORT).") var port: Int?
    @Option(help: "Seconds an order may wait for payment (MALL_PAYMENT_WINDOW_SECONDS, default 900).") var paymentWindow: Double?
    @Option(help: "Secret the payment gateway signs callbacks with (MALL_GATEWAY_SECRET); generated, stored and printed once when unset. On the command line every local user can read it: prefer --gateway-secret-file.")
    var gatewaySecret: String?
    @Option(help: "A file whose first line is the gateway secret (MALL_GATEWAY_SECRET_FILE).") var gatewaySecretFile: String?
    @Option(help: "The payment gateway's base URL (MALL_GATEWAY_URL), e.g. what `mall gateway serve` prints. Without it a FAKE gateway runs in process: every payment succeeds and no money moves (a demo only; refused with a PostgreSQL database or MALL_ENV=production unless --fake-gateway).")
    var gatewayURL: String?
    @Option(help: "A file whose first line is the merchant's API key at the gateway (MALL_GATEWAY_API_KEY_FILE, or MALL_GATEWAY_API_KEY).")
    var gatewayAPIKeyFile: String?
    @Flag(help: "Run the fake gateway in process even where the configuration looks like a real shop (MALL_FAKE_GATEWAY=on): every payment succeeds, no money moves.")
    var fakeGateway = false
    @Option(help: "Admin bearer token (MALL_ADMIN_TOKEN); generated and printed once when unset. On the command line every local user can read it: prefer --admin-token-file.")
    var adminToken: String?
    @Option(help: "A file whose first line is the admin bearer token (MALL_ADMIN_TOKEN_FILE).") var adminTokenFile: String?
    @Option(help: "A proxy (address or CIDR, e.g. 10.0.0.0/8) whose Forwarded / X-Forwarded-For headers name the client, so limits per address count the client, not the proxy (MALL_TRUSTED_PROXIES, comma-separated). Repeatable; none by default: headers from any other peer are ignored.")
    var trustedProxy: [String] = []
    @Option(help: "full: an acknowledged order or payment is on disk (fsync per commit); normal: survives a crash of the process, a power loss may lose the last commits (MALL_DURABILITY, default full). SQLite only.")
    var durability: String?
    @Option(help: "Log lines as text or json, on standard output (MALL_LOG_FORMAT, default text).") var logFormat: String?
    @Option(help: "The least severe level logged: trace, debug, info, notice, warning, error or critical (MALL_LOG_LEVEL, default info).") var logLevel: String?
    @Option(help: "Orders one member may have awaiting payment at once (MALL_MAX_UNPAID_ORDERS, default 5).") var maxUnpaidOrders: Int?
    @Option(help: "Units of one SKU per order line (MALL_MAX_LINE_QUANTITY, default 20).") var maxLineQuantity: Int?
    @Option(help: "Open HTTP connections at most (MALL_MAX_CONNECTIONS, default 2048).") var maxConnections: Int?
    @Option(help: "Seconds before an idle connection is closed (MALL_IDLE_TIMEOUT_SECONDS, default 60).") var idleTimeout: Double?
    @Option(help: "Seconds a new connection has to send its request head (MALL_REQUEST_HEAD_TIMEOUT_SECONDS, default 10).")
    var requestHeadTimeout: Double?
    @Option(help: "Seconds a request has to send its body (MALL_REQUEST_BODY_TIMEOUT_SECONDS, default 30).") var requestBodyTimeout: Double?
    @Flag(help: "Do not seed the demo catalog into an empty database.") var noSeed = false

    func run() async throws {
        var configuration = try database.configuration()
        if let host { configuration.host = host }
        if let port { configuration.port = try MallConfiguration.port(String(port), setting: "--port") }
        if let paymentWindow {
            configuration.paymentWindow = try MallConfiguration.paymentWindow(String(paymentWindow), setting: "--payment-window")
        }
        if let gatewaySecret { configuration.gatewaySecret = gatewaySecret }
        if let gatewaySecretFile { configuration.gatewaySecret = try MallConfiguration.secret(fromFile: gatewaySecretFile, setting: "--gateway-secret-file") }
        if let gatewayURL { configuration.gatewayURL = gatewayURL }
        if let gatewayAPIKeyFile { configuration.gatewayAPIKey = try MallConfiguration.secret(fromFile: gatewayAPIKeyFile, setting: "--gateway-api-key-file") }
        if fakeGateway { configuration.fakeGatewayAllowed = true }
        if let adminToken { configuration.adminToken = adminToken }
        if let adminTokenFile { configuration.adminToken = try MallConfiguration.secret(fromFile: adminTokenFile, setting: "--admin-token-file") }
        if !trustedProxy.isEmpty { configuration.trustedProxies = try trustedProxy.map { try IPNetwork(parsing: $0, setting: "--trusted-proxy") } }
        if let durability { configuration.durability = try MallConfiguration.choice(durability, MallConfiguration.Durability.self, setting: "--durability") }
        if let logFormat { configuration.logFormat = try MallConfiguration.choice(logFormat, MallConfiguration.LogFormat.self, setting: "--log-format") }
        if let logLevel { configuration.logLevel = try MallConfiguration.choice(logLevel, Logger.Level.self, setting: "--log-level") }
        if let maxUnpaidOrders {
            configuration.maxUnpaidOrdersPerMember = try MallConfiguration.integer(String(maxUnpaidOrders), 1...10_000, setting: "--max-unpaid-orders")
        }
        if let maxLineQuantity {
            configuration.maxLineQuantity = try MallConfiguration.integer(String(maxLineQuantity), 1...999, setting: "--max-line-quantity")
        }
        if let maxConnections {
            configuration.maxConnections = try MallConfiguration.integer(String(maxConnections), 1...1_000_000, setting: "--max-connections")
        }
        if let idleTimeout { configuration.idleTimeout = try MallConfiguration.seconds(String(idleTimeout), setting: "--idle-timeout") }
        if let requestHeadTimeout {
            configuration.requestHeadTimeout = try MallConfiguration.seconds(String(requestHeadTimeout), setting: "--request-head-timeout")
        }
        if let requestBodyTimeout {
            configuration.requestBodyTimeout = try MallConfiguration.seconds(String(requestBodyTimeout), setting: "--request-body-timeout")
        }
        if noSeed { configuration.seedDemoCatalog = false }
        try configuration.validate()

        if configuration.gatewayURL == nil, configuration.looksLikeProduction, !configuration.fakeGatewayAllowed {
            throw ValidationError("""
                no payment gateway: without --gateway-url the fake gateway would run in process and take every payment as paid, \
                and this looks like a real shop (\(configuration.usesPostgres ? "a PostgreSQL database" : "MALL_ENV=production")). \
                Give --gateway-url (and the gateway's API key), or --fake-gateway to run the fake anyway
                """)
        }

        let (format, level) = (configuration.logFormat, configuration.logLevel)
        let logger = Logger(label: "mall", factory: { ServerLogHandler(label: $0, format: format, level: level) })
        for (option, given) in [("--admin-token", adminToken), ("--gateway-secret", gatewaySecret)] where given != nil {
            logger.warning("\(option) on the command line is readable by every local user (/proc/PID/cmdline); prefer \(option)-file or the environment")
        }
        try await MallNode.serve(configuration, logger: logger, say: say, sayOnStandardError: sayOnStandardError)
    }
}

struct Reconcile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the rules that span contexts (docs/ARCHITECTURE.md, 'The order saga'); print drift and exit 1 when there is any.",
        discussion: """
            With --repair, also repair what is safe, through the contexts' own commands (each leaves events): \
            a cancelled order's held stock is released and its coupon given back, a stuck order's next step is \
            taken again, and money neither applied nor refunded is refunded through the payment gateway \
            (--gateway-url; without it refunds are skipped). It first waits for the running shop's \
            subscriptions to handle the log, and leaves alone anything with an event in retries or dead letters. \
            Exits 1 when drift remains.
            """)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Seconds an order may stay submitted before it counts as stuck.") var submittedGrace: Double = 300
    @Flag(help: "Repair what is safe; report what is left.") var repair = false
    @Option(help: "With --repair: the payment gateway's base URL refunds go through (MALL_GATEWAY_URL).") var gatewayURL: String?

    func run() async throws {
        let grace = Duration.milliseconds(Int64(submittedGrace * 1000))
        var configuration = try database.configuration()
        if let gatewayURL { configuration.gatewayURL = gatewayURL }
        // One pass over the whole file: mapping it gains nothing (100,000 orders, a 630 MB
        // file: 11.2 s unmapped, 12.9 s mapped) and its mapped pages would count as the
        // command's memory (56 MB → 290 MB peak resident). MALL_SQLITE_MMAP_MIB still decides.
        if ProcessInfo.processInfo.environment["MALL_SQLITE_MMAP_MIB"] == nil { configuration.sqliteMemoryMapMiB = 0 }
        guard repair else {
            let report = try await Mall.withMall(configuration, logger: quietLogger) { try await $0.reconcile(submittedGrace: grace) }
            Self.show(report)
            try Self.finish(report.drifts)
            return
        }
        let result = try await Mall.reconcileAndRepair(configuration, submittedGrace: grace, logger: quietLogger)
        Self.show(result.found)
        for outcome in result.outcomes { say(outcome.description) }
        if !result.outcomes.isEmpty { say("after repair:") }
        for drift in result.remaining where !result.outcomes.isEmpty { say("DRIFT \(drift)") }
        try Self.finish(result.remaining)
    }

    static func show(_ report: ReconciliationReport) {
        say("checked \(report.orders) orders, \(report.stocks) stocks, \(report.wallets) coupon wallets, \(report.payments) payments")
        for (name, lag) in report.lag.sorted(by: { $0.key < $1.key }) {
            say("note: subscription \(name) has \(lag) event(s) to process; drift below may be work in flight")
        }
        for (name, count) in report.deadLetters.sorted(by: { $0.key < $1.key }) {
            say("note: subscription \(name) has \(count) dead letter(s): mall dead-letters list")
        }
        for drift in report.drifts { say("DRIFT \(drift)") }
    }

    static func finish(_ drifts: [Drift]) throws {
        if drifts.isEmpty {
            say("no drift")
        } else {
            say("\(drifts.count) drift(s)")
            throw ExitCode(1)
        }
    }
}

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the event log: one line per event, `position stream type event-id occurred-at`.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Only streams of these types, comma-separated (e.g. Order,Payment).") var streamTypes: String?
    @Option(help: "Start after this log position.") var after: Int64 = 0

    func run() async throws {
        let types = streamTypes.map { Set($0.split(separator: ",").map(String.init)) }
        let start = after
        try await Mall.withMall(try database.configuration(), logger: quietLogger) { mall in
            try await mall.scanLog(after: start) { batch in
                for event in batch where types?.contains(event.streamType) ?? true {
                    say("\(event.position) \(event.stream) \(event.eventType) \(event.eventID) \(event.occurredAt.ISO8601Format())")
                }
            }
        }
    }
}

struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters", abstract: "List, replay or discard dead letters.",
        subcommands: [List.self, Replay.self, Discard.self])

    struct Selection: ParsableArguments {
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Only this subscription.") var subscription: String?
        @Option(help: "Only the event at this log position.") var position: Int64?
        @Option(help: "Only events of this type.") var eventType: String?

        var filter: DeadLetterSelection { DeadLetterSelection(subscription: subscription, position: position, eventType: eventType) }

        func withMall<Result: Sendable>(_ body: @Sendable (Mall) async throws -> Result) async throws -> Result {
            try await Mall.withMall(try database.configuration(), logger: quietLogger, body)
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var selection: Selection

        func run() async throws {
            let filter = selection.filter
            let letters = try await selection.withMall { try await $0.deadLetters(filter) }
            for letter in letters {
                print("\(letter.subscription)  #\(letter.position)  \(letter.eventType)  \(letter.stream)  attempts \(letter.attempts)  held behind \(letter.heldBehind)  \(letter.lastError ?? "")")
            }
            print("\(letters.count) dead letter(s)")
        }
    }

    struct Replay: AsyncParsableCommand {
        @OptionGroup var selection: Selection

        func run() async throws {
            let filter = selection.filter
            print("replaying \(try await selection.withMall { try await $0.replayDeadLetters(filter) }) dead letter(s)")
        }
    }

    struct Discard: AsyncParsableCommand {
        @OptionGroup var selection: Selection

        func run() async throws {
            let filter = selection.filter
            print("discarded \(try await selection.withMall { try await $0.discardDeadLetters(filter) }) dead letter(s)")
        }
    }
}

struct ProjectionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections", abstract: "List the read models (projections) or rebuild one from the event log.",
        subcommands: [List.self, Rebuild.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each projection: version, generation serving, checkpoint and lag.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let lines = try await Mall.withMall(try database.configuration(), logger: quietLogger) { mall in
                try await mall.projectionPlaces().map { place in
                    let state = place.state
                    var line = "\(place.name)  version \(state.serving.version)  generation \(state.serving.number)  at \(place.position) of \(place.head)"
                    if place.partitions > 1 { line += "  (\(place.partitions) partitions)" }
                    if let building = state.building { line += "  (building generation \(building.number), version \(building.version))" }
                    return line
                }
            }
            for line in lines { print(line) }
        }
    }

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay the event log into fresh tables while the current ones keep serving, then swap them in.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The projection (see `mall projections list`).") var name: String

        func run() async throws {
            let name = self.name
            try await Mall.withMall(try database.configuration(), logger: quietLogger) { mall in
                let start = ContinuousClock.now
                try await mall.rebuildProjection(named: name) { progress in
                    say("rebuilding \(progress.projection) (generation \(progress.generation)): \(progress.position) of \(progress.head)")
                }
                say("rebuilt \(name) in \((ContinuousClock.now - start).formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))")
            }
        }
    }
}

/// For commands whose output is their report: no log lines in between.
let quietLogger = Logger(label: "mall", factory: { _ in SwiftLogNoOpLogHandler() })
