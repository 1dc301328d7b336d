import Foundation
import Herald
import HeraldSimulation
@_spi(Operations) import MallApplication
import MallInventoryEvents
import MallKernel
import MallOperations
@_spi(Simulation) import MallOrdering
import MallOrderingEvents
import MallPayment
import MallPaymentEvents
import MallPricingEvents
import Synchronization

// Mall's saga on simulated nodes: shoppers place orders (some with a coupon), pay some,
// cancel some and leave the rest to their deadline, while the payment gateway times out,
// refuses, calls back late (after the deadline) or twice. Every node runs the whole shop's
// subscriptions and projections, partitioned as on PostgreSQL. Checked at the end: no
// order both paid and cancelled, every successful payment applied to its order or refunded
// (never both), each coupon redeemed at most once at a time, nothing stuck, and Mall's own
// reconciliation clean.

extension ReintroducedBug {
    /// The payment deadline cancels the order whatever its status (a late timer cancelling
    /// a paid order: the incident `Order.paymentDeadlineReached` guards against).
    public static let deadlineIgnoresOrderStatus = ReintroducedBug(rawValue: "deadline-status")
    /// Mall's own.
    public static let mall: [ReintroducedBug] = [.deadlineIgnoresOrderStatus]
}

/// The payment gateway of a simulation: takes intents (or times out, or refuses), calls
/// back when the seed says, sometimes late, sometimes twice, and records refunds.
final class SimulatedGateway: PaymentGateway {
    struct Callback {
        var paymentID: String
        var outcome: GatewayOutcome
        var due: Date
        var tries = 0
    }

    private struct State {
        var intents: Set<String> = []
        var callbacks: [Callback] = []
        var refunded: [String: Int] = [:]
    }

    let simulation: Simulation
    private let state = Mutex(State())

    init(simulation: Simulation) { self.simulation = simulation }

    func createIntent(paymentID: String, amount: Money) async throws {
        let rates = simulation.faultRates
        if simulation.strikes(rates.handlerFailure / 2, counting: "gateway refused") {
            throw GatewayUnavailable(reason: "simulated: the gateway refused the call")
        }
        if simulation.strikes(rates.handlerFailure / 2, counting: "gateway timed out") {
            // The caller cannot tell whether the gateway took it.
            if simulation.random.nextUnit() < 0.5 { take(paymentID) }
            await simulation.sleep(2)
            throw GatewayInDoubt(reason: "simulated: no answer within 2 s")
        }
        take(paymentID)
    }

    /// A new intent: one callback (sometimes two), 0.2–30 s later (the payment window is
    /// 20 s), mostly a success.
    private func take(_ paymentID: String) {
        let outcome: GatewayOutcome = simulation.random.nextUnit() < 0.85 ? .succeeded : .failed
        let copies = simulation.random.nextUnit() < 0.15 ? 2 : 1
        let dues = (0..<copies).map { _ in simulation.now.addingTimeInterval(simulation.draw(0.2...30)) }
        state.withLock { state in
            guard state.intents.insert(paymentID).inserted else { return }  // asked again: the gateway knows it
            for due in dues { state.callbacks.append(Callback(paymentID: paymentID, outcome: outcome, due: due)) }
        }
    }

    func refund(paymentID: String, amount: Money) async throws {
        if simulation.strikes(simulation.faultRates.handlerFailure / 2, counting: "gateway refused") {
            throw GatewayUnavailable(reason: "simulated: the gateway refused the refund")
        }
        // A full refund of a payment twice is refused by a real gateway: counted once.
        state.withLock { $0.refunded[paymentID, default: 0] += 1 }
    }

    var refunded: [String: Int] { state.withLock { $0.refunded } }
    var pendingCallbacks: Int { state.withLock { $0.callbacks.count } }

    /// Takes the callbacks due now.
    func due() -> [Callback] {
        state.withLock { state in
            let now = simulation.now
            let due = state.callbacks.filter { $0.due <= now }
            state.callbacks.removeAll { $0.due <= now }
            return due
        }
    }

    func retry(_ callback: Callback) {
        var callback = callback
        callback.tries += 1
        callback.due = simulation.now.addingTimeInterval(1)
        state.withLock { $0.callbacks.append(callback) }
    }
}

public final class MallWorkload: Workload {
    let shoppers: Int
    let ordersPerShopper: Int
    let bugs: Set<ReintroducedBug>
    let gateway = Mutex<SimulatedGateway?>(nil)
    /// One pool for every node's password hashing (nobody registers here; a shop starts one).
    static let passwordHashing = BoundedThreadPool(name: "simulation passwords", threads: 1, queueLimit: 4)
    /// Coupons issued before the run, by shopper.
    private let coupons = Mutex<[String: String]>([:])
    private let skus = [
        "tea-jasmine", "tea-oolong", "coffee-beans", "cocoa", "mug-stone", "teapot", "pan-iron", "knife-chef", "book-ddd", "pen-fountain",
        "ink-blue", "notebook-a5", "tent-2p", "socks-wool",
    ]

    public init(options: SimulationOptions) {
        shoppers = options.clients
        ordersPerShopper = options.commandsPerClient
        bugs = options.bugs
    }

    public var registry: EventRegistry { .mall }

    var configuration: MallConfiguration {
        var configuration = MallConfiguration()
        configuration.paymentWindow = .seconds(20)
        configuration.partitions = 2
        configuration.partitionLease = .seconds(10)
        configuration.passwordCost = 4
        configuration.gatewaySecret = "simulation-gateway-secret"
        configuration.adminToken = "simulation-admin"
        configuration.maxUnpaidOrdersPerMember = 5
        configuration.reconcileSettleTimeout = .zero
        return configuration
    }

    private func shop(_ engine: HeraldEngine, _ simulation: Simulation) -> Mall {
        let gateway = gateway.withLock { gateway in
            if let gateway { return gateway }
            let made = SimulatedGateway(simulation: simulation)
            gateway = made
            return made
        }
        return Mall(engine: engine, configuration: configuration, gateway: gateway, passwordHashing: Self.passwordHashing)
    }

    /// A shop on the store behind the faults (preparing and checking).
    private func directShop(_ simulation: Simulation) -> Mall {
        shop(HeraldEngine(store: simulation.store, registry: .mall, clock: simulation.clock, random: simulation.random, node: "checker"), simulation)
    }

    static var quickRetries: RetryPolicy { try! RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(50), maxDelay: .seconds(2)) }

    public func prepare(_ simulation: Simulation) async throws {
        let mall = directShop(simulation)
        // The checkpoints a settled run has: every subscription's, or each of its partitions'.
        checkpoints.withLock { names in
            for subscription in mall.subscriptions() {
                guard let count = subscription.partitioning?.count else { names.insert(subscription.name); continue }
                for partition in 0..<count { names.insert("\(subscription.name)#\(partition)/\(count)") }
            }
        }
        try await mall.prepareProjections()
        try await mall.seedDemoCatalogIfEmpty()
        for shopper in 0..<shoppers where simulation.random.nextUnit() < 0.6 {
            let code = try await mall.pricing.issueCoupon(campaignID: "welcome", to: "m\(shopper)")
            coupons.withLock { $0["m\(shopper)"] = code }
        }
    }

    public func node(engine: HeraldEngine, simulation: Simulation) throws -> (service: HeraldService, handle: any Sendable) {
        let mall = shop(engine, simulation)
        return (try mall.service(retryPolicy: Self.quickRetries), mall)
    }

    public func drive(_ simulation: Simulation) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.deliverCallbacks(simulation) }
            await withTaskGroup(of: Void.self) { shoppers in
                for shopper in 0..<self.shoppers { shoppers.addTask { await self.shop(as: shopper, simulation) } }
            }
            self.shoppersDone.withLock { $0 = true }
        }
    }

    public func around(_ body: () async -> Void) async {
        guard bugs.contains(.deadlineIgnoresOrderStatus) else { return await body() }
        await ReintroducedOrderingBugs.$deadlineIgnoresStatus.withValue(true) { await body() }
    }

    private let shoppersDone = Mutex(false)
    /// Set by ``prepare(_:)``: the checkpoints of the shop's subscriptions (see ``settled(_:)``).
    private let checkpoints = Mutex<Set<String>>([])

    private func mall(on node: SimulatedNode) -> Mall { node.handle as! Mall }

    /// One shopper: orders, then pays, cancels or walks away.
    private func shop(as shopper: Int, _ simulation: Simulation) async {
        let member = "m\(shopper)"
        let random = simulation.random
        for number in 0..<ordersPerShopper {
            await simulation.sleep(simulation.draw(0...4))
            let lines = (0..<(1 + Int(random.next() % 2))).map { _ in StockLine(sku: skus[Int(random.next() % UInt64(skus.count))], quantity: 1 + Int(random.next() % 2)) }
            let coupon = random.nextUnit() < 0.5 ? coupons.withLock { $0[member] } : nil
            let request = PlaceOrder(
                lines: lines, address: Address(name: "Ada", phone: "+44 20 7946 0000", line1: "1 Loop", city: "London", postcode: "SW1"),
                paymentMethod: "card", couponCode: coupon)
            let key = IdempotentRequest(key: "\(member)-\(number)", request: "\(lines)")
            var orderID: String?
            for attempt in 1...15 {
                guard let node = simulation.liveNode() else { await simulation.sleep(0.5); continue }
                do {
                    orderID = try await mall(on: node).placeOrder(memberID: member, request, idempotency: key).order.id
                    break
                } catch let problem as any MallProblem where [.invalidInput, .notFound, .ruleViolation, .limitReached].contains(problem.kind) {
                    simulation.record("\(member) order \(number) refused: \(problem)")
                    break
                } catch {
                    simulation.record("\(member) order \(number) attempt \(attempt) on \(node.name): \(error)")
                    await simulation.sleep(simulation.draw(0.05...1))
                }
            }
            guard let orderID else { continue }
            simulation.record("\(member) placed \(orderID)")
            let choice = random.nextUnit()
            if choice < 0.65 {
                await pay(orderID, member, simulation)
            } else if choice < 0.8 {
                await cancel(orderID, member, simulation)
            }
        }
    }

    /// Waits until the order awaits payment (or is over), then starts paying it.
    private func pay(_ orderID: String, _ member: String, _ simulation: Simulation) async {
        for _ in 0..<60 {
            await simulation.sleep(0.5)
            guard let node = simulation.liveNode() else { continue }
            do {
                let status = try await mall(on: node).order(id: orderID, memberID: member).status
                guard status == Order.Status.awaitingPayment.rawValue else {
                    if status == Order.Status.submitted.rawValue { continue }
                    return
                }
                let started = try await mall(on: node).startPayment(orderID: orderID, memberID: member)
                simulation.record("\(member) started \(started.payment.id) for \(orderID)\(started.inDoubt.map { " (in doubt: \($0.detail))" } ?? "")")
                return
            } catch let problem as OrderProblem {
                return simulation.record("\(member) cannot pay \(orderID): \(problem)")
            } catch {
                simulation.record("\(member) paying \(orderID) on \(node.name): \(error)")
            }
        }
    }

    private func cancel(_ orderID: String, _ member: String, _ simulation: Simulation) async {
        await simulation.sleep(simulation.draw(0...10))
        for _ in 0..<10 {
            guard let node = simulation.liveNode() else { await simulation.sleep(0.5); continue }
            do {
                let order = try await mall(on: node).cancelOrder(id: orderID, memberID: member)
                return simulation.record("\(member) cancelled \(orderID): \(order.status)")
            } catch let problem as OrderProblem {
                return simulation.record("\(member) cannot cancel \(orderID): \(problem)")
            } catch {
                simulation.record("\(member) cancelling \(orderID) on \(node.name): \(error)")
                await simulation.sleep(simulation.draw(0.05...1))
            }
        }
    }

    /// The gateway's side: delivers each callback when due to a live node, signed as the
    /// gateway signs them; one that does not get through is sent again a second later.
    private func deliverCallbacks(_ simulation: Simulation) async {
        while true {
            let gateway = gateway.withLock { $0 }!
            if shoppersDone.withLock({ $0 }) && gateway.pendingCallbacks == 0 { return }
            for callback in gateway.due() {
                guard let node = simulation.liveNode() else {
                    gateway.retry(callback)
                    continue
                }
                do {
                    let mall = mall(on: node)
                    let signed = try await mall.signedCallback(paymentID: callback.paymentID, outcome: callback.outcome)
                    let result = try await mall.paymentCallback(signed)
                    simulation.record("gateway: \(callback.paymentID) \(callback.outcome) → \(result.status)\(result.duplicate ? " (repeat)" : "")")
                } catch {
                    simulation.record("gateway: \(callback.paymentID) \(callback.outcome) via \(node.name): \(error)")
                    if callback.tries < 20 { gateway.retry(callback) }
                }
            }
            await simulation.sleep(0.25)
        }
    }

    public func settled(_ simulation: Simulation) async -> Bool {
        await simulation.caughtUp(checkpoints: checkpoints.withLock { $0 })
    }

    public func check(_ simulation: Simulation, settled: Bool) async {
        let store = simulation.store
        guard let log = try? await store.events(after: 0, limit: Int.max) else { return simulation.violate("the store could not be read after the run") }
        let registry = registry
        func decode<E: DomainEvent>(_ type: E.Type, _ envelope: EventEnvelope) -> E? { try? registry.decode(type, from: envelope) }

        // No order both paid and cancelled.
        var paid: [String: String] = [:]  // order → payment
        var cancelled: Set<String> = []
        for envelope in log {
            if let event = envelope.eventType == OrderPaid.eventType ? decode(OrderPaid.self, envelope) : nil { paid[event.orderID] = event.paymentID }
            if let event = envelope.eventType == OrderCancelled.eventType ? decode(OrderCancelled.self, envelope) : nil { cancelled.insert(event.orderID) }
        }
        for order in paid.keys.sorted() where cancelled.contains(order) {
            simulation.violate("order \(order) was paid and cancelled")
        }
        // Every successful payment applied to its order or refunded, never both.
        let refunded = gateway.withLock { $0 }?.refunded ?? [:]
        let applied = Set(paid.values)
        for envelope in log where envelope.eventType == PaymentSucceeded.eventType {
            guard let succeeded = decode(PaymentSucceeded.self, envelope) else { continue }
            let wasApplied = applied.contains(succeeded.paymentID), wasRefunded = refunded[succeeded.paymentID] != nil
            if wasApplied && wasRefunded { simulation.violate("payment \(succeeded.paymentID) paid order \(succeeded.orderID) and was refunded") }
            if !wasApplied && !wasRefunded && settled {
                simulation.violate("payment \(succeeded.paymentID) (order \(succeeded.orderID)) succeeded but was neither applied nor refunded")
            }
        }
        // Each coupon redeemed at most once at a time.
        var redeemed: [String: Bool] = [:]
        for envelope in log {
            if envelope.eventType == CouponRedeemed.eventType, let event = decode(CouponRedeemed.self, envelope) {
                if redeemed[event.code] == true { simulation.violate("coupon \(event.code) redeemed again (order \(event.orderID)) while redeemed") }
                redeemed[event.code] = true
            } else if envelope.eventType == CouponReturned.eventType, let event = decode(CouponReturned.self, envelope) {
                redeemed[event.code] = false
            }
        }
        // Stock conserved: each SKU's stock is what was received less what shipped, and what
        // it holds reserved is exactly the lines of the orders paid and not cancelled.
        var received: [String: Int] = [:], committed: [String: Int] = [:], reservations: [String: [StockLine]] = [:]
        for envelope in log {
            switch envelope.eventType {
            case StockReceived.eventType: if let event = decode(StockReceived.self, envelope) { received[event.sku, default: 0] += event.quantity }
            case StockCommitted.eventType: if let event = decode(StockCommitted.self, envelope) { for line in event.lines { committed[line.sku, default: 0] += line.quantity } }
            case StockReserved.eventType: if let event = decode(StockReserved.self, envelope) { reservations[event.orderID] = event.lines }
            default: break
            }
        }
        var held: [String: Int] = [:]
        for (order, lines) in reservations where paid[order] != nil && !cancelled.contains(order) {
            for line in lines { held[line.sku, default: 0] += line.quantity }
        }
        guard settled else { return }
        let checker = directShop(simulation)
        for sku in received.keys.sorted() {
            guard let stock = try? await checker.inventory.stock(sku: sku) else { simulation.violate("stock of \(sku) could not be read"); continue }
            let onHand = received[sku, default: 0] - committed[sku, default: 0]
            if stock.onHand != onHand || stock.reserved != held[sku, default: 0] || stock.available < 0 {
                simulation.violate("stock of \(sku): on hand \(stock.onHand), reserved \(stock.reserved); received less shipped is \(onHand), paid orders hold \(held[sku, default: 0])")
            }
        }
        // The read side: each member's order history (a projection, partitioned, run by
        // whichever node holds its lease) lists exactly the orders the member submitted.
        var submitted: [String: Set<String>] = [:]
        for envelope in log where envelope.eventType == OrderSubmitted.eventType {
            if let event = decode(OrderSubmitted.self, envelope) { submitted[event.memberID, default: []].insert(event.orderID) }
        }
        for member in (0..<shoppers).map({ "m\($0)" }) {
            var listed: [String] = []
            for page in 1... {
                guard let orders = try? await checker.orders(memberID: member, page: page) else {
                    simulation.violate("the order history of \(member) could not be read")
                    break
                }
                listed += orders.map(\.id)
                if orders.count < OrderingService.pageSize { break }
            }
            if listed.count != Set(listed).count || Set(listed) != submitted[member, default: []] {
                simulation.violate("the order history of \(member) lists \(listed.sorted()); the log has \(submitted[member, default: []].sorted())")
            }
        }
        // Mall's own reconciliation: stock, wallets, payments, orders.
        do {
            let report = try await checker.reconcile(submittedGrace: .zero, deliveryGrace: .zero)
            for drift in report.drifts { simulation.violate("reconciliation: \(drift)") }
        } catch {
            simulation.violate("reconciliation failed: \(error)")
        }
    }
}
