import Crypto
import Foundation
import Herald
import MallCart
import MallCatalog
import MallGateway
import MallInventory
import MallKernel
import MallMembers
import MallOrdering
import MallPayment
import MallPricing
import Prometheus

/// The Mall application: every bounded context on one Herald engine, the subscriptions
/// that connect them, and the use cases that span contexts (which compose the contexts'
/// services; no context calls another).
public struct Mall: Sendable {
    public let configuration: MallConfiguration
    // The engine and the contexts' services: for the operations module and the composition
    // (`@_spi(Operations) import`), never for HTTP or the CLI, which go through the use cases.
    @_spi(Operations) public let engine: HeraldEngine
    @_spi(Operations) public let catalog: CatalogService
    @_spi(Operations) public let members: MemberService
    @_spi(Operations) public let pricing: PricingService
    @_spi(Operations) public let carts: CartService
    @_spi(Operations) public let ordering: OrderingService
    @_spi(Operations) public let inventory: InventoryService
    @_spi(Operations) public let payments: PaymentService
    /// Where payments are collected and refunded.
    public let gateway: any PaymentGateway
    /// The governance rules in force on this node (the degradation switches among them).
    public let rulesInForce: RulesInForce
    /// What the engine counts (commits, handlers), for the server's `/metrics`; `nil` when off.
    public let metrics: MallMetrics?
    /// The tracer the engine's spans go to (the HTTP server's too); `nil` when off.
    public let tracer: W3CTracer?
    /// The SQLite writer's transactions and the writes it grouped into them since the store
    /// opened, for the operator's gauges; set by the composition on SQLite, `nil` elsewhere.
    @_spi(Operations) public var writeGroups: (@Sendable () -> (transactions: Int, writes: Int))?

    /// - Parameter gateway: the payment gateway; by default one in process that sends no
    ///   callbacks (whoever drives this Mall signs them, as tests do).
    /// - Parameter metrics: where the server's `/metrics` collects, what `engine` counts
    ///   into (if anything).
    /// - Parameter tracer: the tracer `engine` traces with (if any), for the server's spans.
    /// - Parameter passwordHashing: the threads that hash passwords; by default a pool of
    ///   the configuration's size, started now (shared by many shops in one process, as a
    ///   simulation's nodes are, one pool saves a thread per shop).
    @_spi(Operations) public init(
        engine: HeraldEngine, configuration: MallConfiguration, gateway: any PaymentGateway = FakeGateway.silent(),
        metrics: MallMetrics? = nil, tracer: W3CTracer? = nil, passwordHashing: BoundedThreadPool? = nil
    ) {
        self.metrics = metrics
        self.tracer = tracer
        self.configuration = configuration
        self.engine = engine
        self.gateway = gateway
        catalog = CatalogService(engine: engine, currency: configuration.pricing.currency)
        let hashing = passwordHashing ?? BoundedThreadPool(
            name: "password hashing", threads: configuration.passwordThreads, queueLimit: configuration.passwordQueue,
            priority: configuration.passwordPriority)
        members = MemberService(engine: engine, hasher: BcryptPasswordHasher(cost: configuration.passwordCost, pool: hashing))
        let rulesInForce = RulesInForce(GovernanceRules(configuration))
        self.rulesInForce = rulesInForce
        pricing = PricingService(engine: engine, policy: configuration.pricing) { !rulesInForce.rules.promotionsOff }
        carts = CartService(engine: engine)
        ordering = OrderingService(
            engine: engine,
            limits: OrderLimits(openOrdersPerMember: configuration.maxUnpaidOrdersPerMember, quantityPerSKU: configuration.maxLineQuantity))
        inventory = InventoryService(engine: engine)
        payments = PaymentService(engine: engine, gatewaySecret: configuration.gatewaySecret)
        // The gateway client follows the rules' gateway settings as they change.
        if let client = gateway as? HTTPPaymentGateway {
            let logger = engine.logger
            rulesInForce.observe { rules in
                do {
                    try client.apply(rules.gateway.settings)
                } catch {
                    logger.error("the rules' payment gateway settings were refused; the ones in force stay", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// The subscriptions through which the contexts hear of each other.
    ///
    /// With ``MallConfiguration/partitionCount`` (4 by default on PostgreSQL) each is split
    /// by stream into that many partitions, which the nodes share through Herald's leases
    /// and fences: every node takes part in the saga, and each stream's events are handled
    /// in order by one node at a time. A reaction that hears several streams of one order
    /// (Ordering hears the reservation, the coupon, the payment and the deadline) may then
    /// handle two of them on two nodes at once; both load and save the order, the order's
    /// version check refuses the second save, and its batch runs again and sees the first.
    /// The steps commute where they can arrive in either order (stock and coupon), and the
    /// rest are ordered by cause (a payment starts only once the order awaits it).
    /// Inventory's reservations are the exception: every order changes the stock of the
    /// SKUs it holds, so partitions would mostly refuse each other's saves on a shop's best
    /// sellers; they run as one partition (one node at a time, moving on failure).
    ///
    /// Each waits ``MallConfiguration/subscriptionWakeDelay`` after a wake-up before reading:
    /// seven subscriptions woken by every commit otherwise read (and mostly find nothing)
    /// thousands of times a second under load.
    public func subscriptions(retryPolicy: RetryPolicy = .default) -> [Subscription] {
        [
            PricingReactions.members(retryPolicy: retryPolicy),
            PricingReactions.coupons(retryPolicy: retryPolicy) { [rulesInForce] in rulesInForce.rules.couponsDeferred },
            InventoryReactions.reservations(retryPolicy: retryPolicy),
            OrderingReactions.process(paymentWindow: configuration.paymentWindow, retryPolicy: retryPolicy),
            CartReactions.checkout(retryPolicy: retryPolicy),
            PaymentReactions.refunds(gateway: gateway, retryPolicy: retryPolicy),
        ].map { subscription in
            var subscription = subscription
            subscription.wakeDelay = configuration.subscriptionWakeDelay
            if let count = configuration.partitionCount {
                subscription.partitioning = Partitioning(
                    count: subscription.name == InventoryReactions.subscriptionName ? 1 : count, leaseDuration: configuration.partitionLease)
            }
            return subscription
        }
    }

    /// The read side: the projections the contexts query (each kept from events, in the
    /// same transaction as its checkpoint).
    ///
    /// With ``MallConfiguration/partitionCount`` each projection runs under a lease, on one
    /// node at a time, and the nodes share the projections (each node holds some, moving
    /// on failure) instead of all reading the log for each and racing to commit. The order
    /// projections can be split further by stream (``MallConfiguration/projectionPartitions``):
    /// each of their rows follows one order's stream, or is an upsert of the same values
    /// from any stream (a reconciliation subject), so partitions never replace each other's
    /// changes. The catalog's and the price book's cannot: a category's product count is
    /// read and replaced for every product in it (and they change at the catalog's pace).
    public func projections(retryPolicy: RetryPolicy = .default) -> [Projection] {
        [
            (CatalogListing.projection(retryPolicy: retryPolicy), false),
            (PriceBook.projection(retryPolicy: retryPolicy), false),
            (OrderHistory.projection(retryPolicy: retryPolicy), true),
            (ReconciliationSubjects.projection(retryPolicy: retryPolicy), true),
            (UnpaidOrders.projection(retryPolicy: retryPolicy), true),
        ].map { projection, perStream in
            var projection = projection
            projection.wakeDelay = configuration.subscriptionWakeDelay
            if configuration.partitionCount != nil {
                projection.partitioning = Partitioning(
                    count: perStream ? configuration.projectionPartitions : 1, leaseDuration: configuration.partitionLease)
            }
            return projection
        }
    }

    /// What keeps the shop moving: every subscription and projection, and the scheduler
    /// that delivers payment deadlines.
    public func service(retryPolicy: RetryPolicy = .default, also extra: [Subscription] = [], schedulerPollInterval: Duration = .seconds(1)) throws -> HeraldService {
        try engine.service(
            subscriptions: subscriptions(retryPolicy: retryPolicy) + extra, projections: projections(retryPolicy: retryPolicy),
            schedulerPollInterval: schedulerPollInterval)
    }

    /// Creates the projections' tables where they are new, so queries can run at once
    /// (answering from what has been projected so far). Every command that opens the shop
    /// calls it first.
    public func prepareProjections() async throws {
        for projection in projections() { try await engine.prepare(projection) }
    }

    // MARK: Admin token

    /// Makes sure an admin token exists: the configured one, or one generated now.
    ///
    /// - Returns: a newly generated token (to print once), or `nil` when one was configured
    ///   or generated on an earlier start.
    public func establishAdminToken() async throws -> String? {
        if configuration.adminToken != nil { return nil }
        let token = MemberService.randomToken(bytes: 32)
        do {
            return try await engine.perform(attempts: 1) { work in
                guard try await work.load(AdminCredential.self, id: AdminCredential.mainID) == nil else { return nil }
                var credential = AdminCredential(digest: MemberService.digest(token))
                try work.save(&credential)
                return token
            }
        } catch is ConcurrencyConflict {
            return nil  // another node generated it at the same moment
        }
    }

    /// Whether `token` is the admin token (compared in constant time).
    public func isAdmin(token: String) async throws -> Bool {
        if let configured = configuration.adminToken { return ConstantTime.equals(MemberService.digest(token), MemberService.digest(configured)) }
        guard let credential = try await engine.unitOfWork().load(AdminCredential.self, id: AdminCredential.mainID) else { return false }
        return ConstantTime.equals(MemberService.digest(token), credential.digest)
    }
}

/// The admin token's SHA-256, stored on first start.
struct AdminCredential: AggregateRoot {
    static let streamType = "AdminCredential"
    static let mainID = "admin"
    var id = AdminCredential.mainID
    var digest: String
    var pendingEvents = PendingEvents()

    init(digest: String) { self.digest = digest }
}
