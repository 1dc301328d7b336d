import Crypto
import Foundation
import Herald
import MallCart
import MallCatalog
import MallEvents
import MallInventory
import MallMembers
import MallOrdering
import MallPayment
import MallPricing

/// The Mall application: every bounded context on one Herald engine, the subscriptions
/// that connect them, and the use cases that span contexts (which compose the contexts'
/// services; no context calls another).
public struct Mall: Sendable {
    public let configuration: MallConfiguration
    public let engine: HeraldEngine
    public let catalog: CatalogService
    public let members: MemberService
    public let pricing: PricingService
    public let carts: CartService
    public let ordering: OrderingService
    public let inventory: InventoryService
    public let payments: PaymentService

    public init(engine: HeraldEngine, configuration: MallConfiguration) {
        self.configuration = configuration
        self.engine = engine
        catalog = CatalogService(engine: engine, currency: configuration.pricing.currency)
        let hashing = BoundedThreadPool(
            name: "password hashing", threads: configuration.passwordThreads, queueLimit: configuration.passwordQueue,
            priority: configuration.passwordPriority)
        members = MemberService(engine: engine, hasher: BcryptPasswordHasher(cost: configuration.passwordCost, pool: hashing))
        pricing = PricingService(engine: engine, policy: configuration.pricing)
        carts = CartService(engine: engine)
        ordering = OrderingService(
            engine: engine,
            limits: OrderLimits(openOrdersPerMember: configuration.maxUnpaidOrdersPerMember, quantityPerSKU: configuration.maxLineQuantity))
        inventory = InventoryService(engine: engine)
        payments = PaymentService(engine: engine, gatewaySecret: configuration.gatewaySecret)
    }

    /// The subscriptions through which the contexts hear of each other.
    ///
    /// Each waits ``MallConfiguration/subscriptionWakeDelay`` after a wake-up before reading:
    /// seven subscriptions woken by every commit otherwise read (and mostly find nothing)
    /// thousands of times a second under load.
    public func subscriptions(retryPolicy: RetryPolicy = .default) -> [Subscription] {
        [
            PricingSubscriptions.members(retryPolicy: retryPolicy),
            PricingSubscriptions.coupons(retryPolicy: retryPolicy),
            InventoryService.reservations(retryPolicy: retryPolicy),
            OrderingService.process(paymentWindow: configuration.paymentWindow, retryPolicy: retryPolicy),
            CartService.checkout(retryPolicy: retryPolicy),
            PaymentService.refunds(retryPolicy: retryPolicy),
        ].map { subscription in
            var subscription = subscription
            subscription.wakeDelay = configuration.subscriptionWakeDelay
            return subscription
        }
    }

    /// The read side: the projections the contexts query (each kept from events, in the
    /// same transaction as its checkpoint).
    public func projections(retryPolicy: RetryPolicy = .default) -> [Projection] {
        [
            CatalogListing.projection(retryPolicy: retryPolicy),
            PriceBook.projection(retryPolicy: retryPolicy),
            OrderHistory.projection(retryPolicy: retryPolicy),
            ReconciliationSubjects.projection(retryPolicy: retryPolicy),
        ].map { projection in
            var projection = projection
            projection.wakeDelay = configuration.subscriptionWakeDelay
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

    // MARK: Use cases across contexts

    /// A product as a shopper sees it: with their member price, and stock available.
    public func product(sku: String, memberID: String?) async throws -> ProductView {
        let summary = try await catalog.product(sku: sku)
        let quote = summary.onSale ? try? await pricing.quote(lines: [StockLine(sku: sku, quantity: 1)], memberID: memberID) : nil
        let stock = try await inventory.stock(sku: sku)
        return ProductView(product: summary, yourPrice: quote?.goodsTotal, available: stock.available)
    }

    /// The member's cart with a fresh quote (or why it cannot be priced now).
    public func cart(memberID: String) async throws -> CartView {
        let cart = try await carts.cart(memberID: memberID)
        guard !cart.lines.isEmpty else { return CartView(lines: [], quote: nil, problem: nil) }
        do {
            return CartView(lines: cart.lines, quote: try await pricing.quote(lines: cart.lines, memberID: memberID), problem: nil)
        } catch let problem as any MallProblem {
            return CartView(lines: cart.lines, quote: nil, problem: problem.description)
        }
    }

    /// Puts a line in the cart, checking the product is for sale and the quantity within
    /// what one order may hold.
    public func setCartLine(memberID: String, sku: String, quantity: Int) async throws -> CartView {
        let product = try await catalog.product(sku: sku)
        if (1...Cart.maximumQuantity).contains(quantity) { try ordering.limits.check([StockLine(sku: sku, quantity: quantity)]) }
        guard product.onSale else { throw PricingError.productNotOnSale(sku: sku) }
        try await carts.set(memberID: memberID, sku: sku, quantity: quantity)
        return try await cart(memberID: memberID)
    }

    /// Submits an order, priced by the server; client prices never enter.
    ///
    /// With an idempotency key, a retried request returns the first order and creates nothing.
    public func placeOrder(memberID: String, _ request: PlaceOrder, idempotencyKey: String?) async throws -> (order: Order, created: Bool) {
        let idempotency = try idempotencyKey.map { try IdempotencyKey(key: $0, fingerprint: request.fingerprint) }
        if let idempotency, let existing = try await ordering.existingOrder(memberID: memberID, idempotency: idempotency) {
            return (existing, false)
        }
        let lines: [StockLine]
        switch (request.lines, request.fromCart ?? false) {
        case (let given?, false):
            lines = given
        case (nil, true):
            lines = try await carts.cart(memberID: memberID).lines
            guard !lines.isEmpty else { throw OrderProblem.cartEmpty }
        case (_?, true):
            throw InvalidInput(field: "lines", "give lines or fromCart, not both")
        case (nil, false):
            throw InvalidInput(field: "lines", "give lines, or fromCart: true")
        }
        if lines.allSatisfy({ (1...Cart.maximumQuantity).contains($0.quantity) }) { try ordering.limits.check(lines) }
        let quote = try await pricing.quote(lines: lines, memberID: memberID, couponCode: request.couponCode, delivery: request.delivery)
        let details = OrderDetails(
            address: request.address, paymentMethod: request.paymentMethod, delivery: request.delivery.rawValue,
            fromCart: request.fromCart ?? false)
        return try await ordering.submit(memberID: memberID, quote: quote, details: details, idempotency: idempotency)
    }

    /// Starts paying an order that awaits payment; a repeat returns the payment already
    /// started (see ``PaymentService/request(orderID:memberID:amount:)``).
    public func startPayment(orderID: String, memberID: String) async throws -> (payment: Payment, created: Bool) {
        let order = try await ordering.order(id: orderID, memberID: memberID)
        guard order.status == .awaitingPayment else {
            throw OrderProblem.wrongStatus(orderID, status: order.status, expected: .awaitingPayment)
        }
        return try await payments.request(orderID: orderID, memberID: memberID, amount: order.total)
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

/// `POST /orders`'s request.
public struct PlaceOrder: Codable, Hashable, Sendable {
    public var lines: [StockLine]?
    public var fromCart: Bool?
    public var address: Address
    public var paymentMethod: String
    public var delivery: DeliveryOption
    public var couponCode: String?

    public init(lines: [StockLine]?, fromCart: Bool? = nil, address: Address, paymentMethod: String, delivery: DeliveryOption = .standard, couponCode: String? = nil) {
        self.lines = lines
        self.fromCart = fromCart
        self.address = address
        self.paymentMethod = paymentMethod
        self.delivery = delivery
        self.couponCode = couponCode
    }

    /// Identifies the request's content, to tell a retry from a different request under the same key.
    var fingerprint: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = (try? encoder.encode(self)) ?? Data()
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}

public struct ProductView: Codable, Hashable, Sendable {
    public var product: ProductSummary
    /// The caller's price for one unit today (member price and promotions); `nil` when not on sale.
    public var yourPrice: Money?
    public var available: Int
}

public struct CartView: Codable, Hashable, Sendable {
    public var lines: [StockLine]
    public var quote: PriceQuote?
    /// Why the cart cannot be priced now (e.g. a product was delisted).
    public var problem: String?
}
