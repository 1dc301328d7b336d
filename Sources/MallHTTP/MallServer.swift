import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import MallApplication
import MallOperations
import MallKernel
import NIOCore
import ServiceLifecycle

/// Mall's HTTP API on Hummingbird 2: the routes of `Resources/openapi.yaml`, problem+json errors,
/// bearer-token auth, size-limited bodies.
public struct MallServer: Sendable {
    let mall: Mall
    let logger: Logger
    let limits: IngressLimits
    let drills: DrillRunner
    /// This node's job scheduler: the admin routes steer it; run it beside the server.
    public let jobs: JobsControl
    /// What `GET /metrics` serves; `nil` with ``MallConfiguration/metrics`` off.
    public let metrics: ServerMetrics?
    /// Rendered `GET /products` pages; `nil` with ``MallConfiguration/listingCachePages`` 0.
    let listingCache: ListingCache?

    /// - Parameter drills: what puts the fault drills in force on this node (the
    ///   composition's, aimed at the fake gateway's knobs); by default one that records
    ///   drills but cannot inject them here.
    /// - Throws: `ConfigurationError` for an invalid limit in the mall's configuration.
    public init(mall: Mall, logger: Logger, drills: DrillRunner? = nil) throws {
        self.mall = mall
        self.logger = logger
        self.drills = drills ?? mall.drillRunner(target: nil, logger: logger)
        jobs = try mall.jobsControl()
        let listingCache = mall.configuration.listingCachePages > 0 ? ListingCache(capacity: mall.configuration.listingCachePages) : nil
        self.listingCache = listingCache
        let metrics = mall.configuration.metrics
            ? ServerMetrics(mall: mall, jobs: jobs, listingCache: listingCache, metrics: mall.metrics) : nil
        self.metrics = metrics
        limits = try mall.ingressLimits(refused: { metrics?.refused($0) })
    }

    /// The router: every context's route collection, the admin ones under `/admin` behind
    /// ``AdminAuthentication``; members' routes authenticate with ``MemberAuthentication``.
    /// Requests past ``MallConfiguration/maxRequestsInFlight`` are shed first of all.
    public func router() -> Router<MallRequestContext> {
        let router = Router(context: MallRequestContext.self)
        let methods = RouteMethods()
        router.add(middleware: ClientAddressMiddleware(trustedProxies: mall.configuration.trustedProxies))
        if let metrics { router.add(middleware: HTTPMetricsMiddleware(metrics: metrics)) }
        router.add(middleware: RequestTracingMiddleware(tracer: mall.tracer))
        // Problems first: a body too large for the shedding middleware is a problem+json 413.
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: LoadSheddingMiddleware(limits: limits, bodyLimit: mall.configuration.maxBodyBytes))
        router.add(middleware: MethodNotAllowedMiddleware(routes: methods))
        router.add(middleware: RequestLimitsMiddleware(bodyLimit: mall.configuration.maxBodyBytes))
        router.addRoutes(HealthRoutes(mall: mall).routes())
        router.addRoutes(MemberRoutes(mall: mall, limits: limits).routes())
        router.addRoutes(CatalogRoutes(mall: mall, limits: limits, listingCache: listingCache).routes())
        router.addRoutes(CartRoutes(mall: mall).routes())
        router.addRoutes(OrderRoutes(mall: mall, limits: limits).routes())
        router.addRoutes(PaymentRoutes(mall: mall, limits: limits, metrics: metrics).routes())
        router.addRoutes(PricingRoutes(mall: mall).routes())
        let admin = router.group("/admin").add(middleware: AdminAuthentication(mall: mall))
        admin.addRoutes(CatalogRoutes(mall: mall, limits: limits).admin())
        admin.addRoutes(InventoryRoutes(mall: mall).admin())
        admin.addRoutes(OrderRoutes(mall: mall, limits: limits).admin())
        admin.addRoutes(PricingRoutes(mall: mall).admin())
        admin.addRoutes(MemberRoutes(mall: mall, limits: limits).admin())
        admin.addRoutes(OperationsRoutes(mall: mall, limits: limits, reconciliations: ReconciliationRuns { try await mall.reconcile() }).admin())
        admin.addRoutes(JobRoutes(jobs: jobs).admin())
        router.addRoutes(ConsoleRoutes(mall: mall, jobs: jobs, metrics: metrics).routes())
        if let metrics {
            router.group().add(middleware: AdminAuthentication(mall: mall)).get("/metrics") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: try await metrics.scrape())))
            }
        }
        methods.load(router.routes)
        return router
    }

    /// The application, serving on the configured host and port next to `services`
    /// (Herald's subscriptions). `onListening` gets the bound port (useful with port 0).
    ///
    /// The server protects itself (see ``MallConfiguration``): at most `maxConnections`
    /// open connections (more wait in the listen backlog), connections idle for
    /// `idleTimeout` closed, and a request whose head or body is too slow to arrive
    /// (``RequestTimeoutHandler``) closed.
    ///
    /// - Parameter beforeStart: runs once `services` have started and before the server
    ///   listens (a migration that needs the database client running).
    /// - Parameter following: wraps the services this server adds (the followers of the
    ///   governance rules and the drills), e.g. to hold them until `beforeStart` is done.
    public func application(
        services: [any Service], beforeStart: (@Sendable () async throws -> Void)? = nil,
        following: (any Service) -> any Service = { $0 }, onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let settings = mall.configuration
        let head = TimeAmount(settings.requestHeadTimeout), body = TimeAmount(settings.requestBodyTimeout)
        let (mall, limits, drills, logger, interval) = (mall, limits, drills, logger, settings.followPollInterval)
        let followers = [
            Follower { await mall.followRules(into: limits, every: interval, logger: logger) },
            Follower { await mall.followDrills(drills, every: interval, logger: logger) },
        ]
        var application = Application(
            router: router(),
            server: .http1(configuration: .init(
                additionalChannelHandlers: [RequestTimeoutHandler(headTimeout: head, bodyTimeout: body)],
                idleTimeout: TimeAmount(settings.idleTimeout))),
            configuration: .init(
                address: .hostname(settings.host, port: settings.port), serverName: "mall",
                availableConnectionsDelegate: MaximumAvailableConnections(settings.maxConnections, logger: logger)),
            services: services + followers.map(following),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        if let beforeStart { application.beforeServerStarts(perform: beforeStart) }
        return application
    }

    /// Whether `text` has the form of a SKU (`^[A-Za-z0-9_-]{1,64}$`).
    static func isSKU(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }
}
