import Foundation
import Herald
import HeraldSQLite
import HeraldTesting
@_spi(Operations) import MallApplication
import MallOperations
import MallGateway
import MallKernel
import MallOrdering
import MallPayment
import Testing

/// A Mall on a fresh SQLite file with a manual clock, driven by hand: ``settle()`` runs
/// every subscription and projection until nothing is left, so tests see the saga's outcome without sleeping.
final class TestMall: Sendable {
    let mall: Mall
    let clock: ManualClock
    let path: String
    private let workers: [SubscriptionWorker]
    private let projectors: [ProjectionWorker]
    private let scheduler: MessageScheduler

    /// - Parameter gateway: the payment gateway, made with the test's clock; by default
    ///   one in process that sends no callbacks (``callback(_:_:)`` signs them).
    init(
        paymentWindow: Duration = .seconds(15 * 60), seed: Bool = true, limits: OrderLimits = OrderLimits(openOrdersPerMember: 1000, quantityPerSKU: 999),
        gateway: (ManualClock) throws -> any PaymentGateway = { _ in FakeGateway.silent() }
    ) async throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("mall-test-\(UUID().uuidString).sqlite").path
        clock = ManualClock()
        var configuration = MallConfiguration()
        configuration.database = path
        configuration.paymentWindow = paymentWindow
        configuration.passwordCost = 4  // bcrypt's minimum: tests register many members
        configuration.maxUnpaidOrdersPerMember = limits.openOrdersPerMember
        configuration.maxLineQuantity = limits.quantityPerSKU
        // Nothing runs the subscriptions between settle() calls: the reconciliation job must
        // not wait for them in real time.
        configuration.reconcileSettleTimeout = .zero
        let engine = HeraldEngine(store: try SQLiteEventStore(path: path), registry: .mall, clock: clock)
        mall = Mall(engine: engine, configuration: configuration, gateway: try gateway(clock))
        let quick = try RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(1), maxDelay: .milliseconds(1))
        workers = try mall.subscriptions(retryPolicy: quick).map(engine.worker(for:))
        projectors = try mall.projections(retryPolicy: quick).map(engine.projectionWorker(for:))
        try await mall.prepareProjections()
        scheduler = engine.scheduler()
        _ = try await mall.payments.establishGatewaySecret()
        if seed {
            try await mall.seedDemoCatalogIfEmpty()
            try await settle()
        }
    }

    deinit {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// Delivers due scheduled messages and drains every subscription until a full round
    /// handles nothing.
    ///
    /// - Parameter skipping: subscriptions and projections (by name) left where they are.
    func settle(skipping: Set<String> = []) async throws {
        for _ in 0..<100 {
            var handled = try await scheduler.deliverDueMessages().count
            for worker in workers where !skipping.contains(worker.subscription.name) {
                let report = try await worker.drain()
                handled += report.handled + report.failed
            }
            for projector in projectors where !skipping.contains(projector.projection.name) {
                let report = try await projector.drain()
                handled += report.handled + report.failed
            }
            if handled == 0 { return }
        }
        throw SettleError()
    }

    struct SettleError: Error {}

    func member(_ name: String = "ada") async throws -> String {
        let id = try await mall.members.register(email: "\(name)-\(UUID().uuidString.prefix(8))@example.com", password: "correct horse", name: name)
        try await settle()
        return id
    }

    static let address = Address(name: "Ada Lovelace", phone: "+44 20 7946 0000", line1: "12 St James's Square", city: "London", postcode: "SW1Y 4JH")

    func order(_ memberID: String, _ lines: [(String, Int)], coupon: String? = nil, key: String? = nil) async throws -> Order {
        let request = PlaceOrder(
            lines: lines.map { StockLine(sku: $0.0, quantity: $0.1) }, address: Self.address, paymentMethod: "card", couponCode: coupon)
        let placed = try await mall.placeOrder(memberID: memberID, request, idempotency: key.map { Self.idempotency($0, lines) }).order
        return try await mall.ordering.order(id: placed.id, memberID: memberID)
    }

    /// An `Idempotency-Key` with its request as a client would send it (here: the lines).
    static func idempotency(_ key: String, _ lines: [(String, Int)]) -> IdempotentRequest {
        IdempotentRequest(key: key, request: lines.map { "\($0.0) × \($0.1)" })
    }

    func pay(_ orderID: String, _ memberID: String, outcome: GatewayOutcome = .succeeded) async throws -> Payment {
        let payment = try await mall.startPayment(orderID: orderID, memberID: memberID).payment
        return try await callback(payment, outcome)
    }

    /// The gateway's signed callback for `payment`, delivered now.
    @discardableResult
    func callback(_ payment: Payment, _ outcome: GatewayOutcome = .succeeded) async throws -> Payment {
        let signed = try await mall.payments.signedCallback(for: payment, outcome: outcome)
        return try await mall.payments.callback(signed.report, signature: signed.signature).payment
    }

    /// Settles the saga and checks every reconciliation rule holds: what each saga test
    /// ends with, whatever it did.
    func expectNoDrift(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await settle()
        let report = try await mall.reconcile(submittedGrace: .zero)
        #expect(report.drifts == [], "reconciliation after the test", sourceLocation: sourceLocation)
        #expect(report.lag.isEmpty, "every subscription caught up", sourceLocation: sourceLocation)
    }

    func status(_ orderID: String) async throws -> Order {
        try await mall.ordering.order(id: orderID, memberID: nil)
    }

    func events(of type: String) async throws -> [EventEnvelope] {
        var found: [EventEnvelope] = []
        try await mall.engine.store.scanLog { batch in found += batch.filter { $0.eventType == type } }
        return found
    }
}
