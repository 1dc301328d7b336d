import Foundation
import Herald
import HeraldPostgres
import HeraldSQLite
import Logging
@_spi(Operations) import MallApplication
import MallGateway
import MallHTTP
import MallKernel
import MallOperations
import MallPayment
import PostgresNIO
import ServiceLifecycle

/// `mall serve`: the shop on the configured store, served over HTTP, with everything that
/// runs beside it — PostgreSQL's pooled client and its listening connection, Herald's
/// subscriptions, projections and scheduler, the job scheduler, the followers of the
/// governance rules and drills — as services of one `ServiceGroup` (Hummingbird's), which
/// stops them all on SIGTERM or SIGINT.
///
/// On PostgreSQL the migration needs the client running: it runs once the group has
/// started (before the server listens), and the services that read the store wait for it
/// (``StartGate``).
public enum MallNode {
    /// Serves until the process is told to stop.
    ///
    /// - Parameter say: where the lines for the operator go (the address listened on);
    ///   `sayOnStandardError`: the secrets printed once, kept out of a shipped log.
    public static func serve(
        _ configuration: MallConfiguration, logger: Logger, say: @escaping @Sendable (String) -> Void,
        sayOnStandardError: @escaping @Sendable (String) -> Void
    ) async throws {
        try await InProcessGateway.unlessConfigured(configuration, logger: logger) { gatewayURL, apiKey, inProcess in
            let gateway = try HTTPPaymentGateway(
                baseURL: gatewayURL, apiKey: apiKey, settings: .init(timeout: configuration.gatewayTimeout), logger: logger)
            let opened = try OpenedStore(configuration, logger: logger)
            let mall = opened.mall(configuration, logger: logger, gateway: gateway)
            let drillTarget: (any GatewayKnobsControl)? = inProcess ?? HTTPGatewayKnobs(baseURL: gatewayURL, apiKey: apiKey)
            let server = try MallServer(mall: mall, logger: logger, drills: mall.drillRunner(target: drillTarget, logger: logger))
            let gate = StartGate()
            let held: (any Service) -> any Service = { AfterStart(gate: gate, service: $0) }
            let background: [any Service] = [try mall.service(), server.jobs.service]
            let host = configuration.host
            let app = server.application(
                services: opened.services + background.map(held),
                beforeStart: {
                    try await opened.migrate()
                    try await mall.prepareProjections()
                    try await open(mall, configuration: configuration, logger: logger, sayOnStandardError: sayOnStandardError)
                    gate.open()
                },
                following: held
            ) { port in
                if let inProcess {
                    let secret = (try? await mall.gatewaySecret()) ?? ""
                    await inProcess.connect(secret: secret, callbackURL: "http://\(InProcessGateway.loopback(host)):\(port)/payment-gateway/callbacks")
                    say("payment gateway (fake, in process) on \(gatewayURL); change its knobs with PUT \(gatewayURL)/v1/knobs (the API key: MALL_GATEWAY_API_KEY)")
                    logger.warning("\(MallConfiguration.fakeGatewayWarning)")
                }
                say("mall listening on http://\(host):\(port)")
            }
            try await app.runService()
        }
    }

    /// What a first start does, and every start checks: the demo catalog in an empty shop,
    /// the admin token and the gateway secret (each generated and printed once, when not
    /// configured).
    private static func open(
        _ mall: Mall, configuration: MallConfiguration, logger: Logger, sayOnStandardError: @Sendable (String) -> Void
    ) async throws {
        if configuration.seedDemoCatalog, try await mall.seedDemoCatalogIfEmpty() {
            logger.info("seeded the demo catalog")
        }
        if let token = try await mall.establishAdminToken() {
            sayOnStandardError("admin token (printed once, keep it): \(token)")
        }
        if let secret = try await mall.establishGatewaySecret() {
            sayOnStandardError("payment gateway secret (printed once, give it to the gateway): \(secret)")
        }
        if !configuration.usesPostgres { logger.info("SQLite durability: \(configuration.durability.rawValue)") }
    }
}

/// `mall serve`'s payment gateway when none is configured: a ``FakeGateway`` in this
/// process, reached over loopback HTTP like any other, behind an API key (the configured
/// one, or a random one for this start).
enum InProcessGateway {
    /// Runs `body` with the configured gateway's URL and API key, or with a fake gateway's
    /// started here on a free loopback port (and the gateway, to connect once Mall listens).
    static func unlessConfigured(
        _ configuration: MallConfiguration, logger: Logger, _ body: @Sendable (String, String?, FakeGateway?) async throws -> Void
    ) async throws {
        if let url = configuration.gatewayURL { return try await body(url, configuration.gatewayAPIKey, nil) }
        let apiKey = configuration.gatewayAPIKey ?? RandomToken.base64URL(bytes: 32)
        let gateway = try FakeGateway(knobs: configuration.inProcessGatewayKnobs, logger: logger)
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        let server = Task {
            do {
                try await FakeGatewayServer.application(gateway, port: 0, apiKey: apiKey, logger: logger) { port in
                    listening.yield(port)
                    listening.finish()
                }.run()
            } catch {
                logger.error("the in-process payment gateway stopped", metadata: ["error": "\(error)"])
            }
            listening.finish()
        }
        defer { server.cancel() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw ConfigurationError(setting: "MALL_GATEWAY_URL", value: "", allowed: "a gateway URL: the in-process payment gateway could not start") }
        try await body("http://127.0.0.1:\(port)", apiKey, gateway)
    }

    /// The address callbacks reach Mall on: loopback when Mall listens on every address.
    static func loopback(_ host: String) -> String {
        ["0.0.0.0", "::", "[::]", ""].contains(host) ? "127.0.0.1" : host.contains(":") ? "[\(host)]" : host
    }
}
