import Foundation
import Herald
import HeraldSQLite
import Logging
import Synchronization

/// `swift run herald-example`: orders flow to two subscribers on a real SQLite file.
///
/// - `receipts` (external, with inbox) calls a mail service that is down for its first two
///   calls: the receipt goes out on a retry.
/// - `loyalty` (transactional) awards points; a bug makes it fail on one order, which lands
///   in dead letters with the order's later event held behind it; after the "fix" the dead
///   letter is replayed and both events are handled, in order.
@main
struct HeraldExample {
    static func main() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("herald-example-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        var registry = EventRegistry()
        registry.register(OrderPlaced.self)
        registry.register(OrderShipped.self)
        let engine = HeraldEngine(
            store: try SQLiteEventStore(path: path), registry: registry,
            logger: Logger(label: "example", factory: { _ in SwiftLogNoOpLogHandler() }))
        let mail = FlakyMailService(failFirst: 2)
        let loyaltyBugFixed = Mutex(false)
        let quickRetries = try RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(50), maxDelay: .milliseconds(200))

        let receipts = Subscription(
            name: "receipts", eventTypes: [OrderPlaced.eventType], retryPolicy: quickRetries, pollInterval: .milliseconds(100),
            handler: .external(inbox: true) { delivery in
                let order = try delivery.decode(OrderPlaced.self)
                try mail.send("receipt for \(order.orderID)", idempotencyKey: delivery.idempotencyKey)
            })
        let loyalty = Subscription(
            name: "loyalty", retryPolicy: quickRetries, pollInterval: .milliseconds(100),
            handler: .transactional { delivery, work in
                let event = try delivery.event()
                if let placed = event as? OrderPlaced {
                    if placed.coupon == "WELCOME-€5" && !loyaltyBugFixed.withLock({ $0 }) {
                        throw LoyaltyBug(detail: "cannot parse coupon code \(placed.coupon!)")
                    }
                    var points = try await work.load(LoyaltyPoints.self, id: placed.customer) ?? LoyaltyPoints(id: placed.customer)
                    points.balance += placed.amountCents / 100
                    try work.save(&points)
                    say("   loyalty: +\(placed.amountCents / 100) points for \(placed.customer) (order \(placed.orderID))")
                } else if let shipped = event as? OrderShipped {
                    say("   loyalty: noted shipment of \(shipped.orderID)")
                }
            })

        let service = try engine.service(subscriptions: [receipts, loyalty], schedulerPollInterval: .milliseconds(100))
        let running = Task { try await service.run() }

        say("1. Three orders are placed; each order and its OrderPlaced event commit in one transaction.")
        for (id, customer, amount, coupon) in [("o-1", "ada", 4200, nil), ("o-2", "bob", 1999, "WELCOME-€5"), ("o-3", "ada", 800, nil)] {
            let work = engine.unitOfWork()
            var order = Order(id: id)
            order.place(customer: customer, amountCents: amount, coupon: coupon)
            try work.save(&order)
            try await work.commit()
        }
        let shipWork = engine.unitOfWork()
        guard var ship = try await shipWork.load(Order.self, id: "o-2") else { fatalError("o-2 was committed above") }
        ship.ship()
        try shipWork.save(&ship)
        try await shipWork.commit()
        say("   …and o-2 ships. Four events in the log.")

        say("2. The mail service is down for its first two calls; receipts retry with back-off.")
        try await waitUntil { mail.sent.count == 3 }
        say("   mail: \(mail.failures) failed calls, then sent \(mail.sent.count) receipts: \(mail.sent.sorted().joined(separator: ", "))")

        say("3. The loyalty handler has a bug on o-2: after 3 attempts it is a dead letter; o-2's OrderShipped waits behind it.")
        try await waitUntil { try await !engine.deadLetters.list().isEmpty }
        for dead in try await engine.deadLetters.list() {
            say("   dead letter: \(dead.subscription) #\(dead.position) \(dead.parked.eventType) after \(dead.attempts) attempts, \(dead.heldBehind) held behind it")
            say("   last error: \(dead.lastError ?? "-")")
        }

        say("4. The fix is deployed and the dead letter replayed: o-2 and then its shipment are handled, in order.")
        loyaltyBugFixed.withLock { $0 = true }
        try await engine.deadLetters.replay(.init(subscription: "loyalty"))
        try await waitUntil { try await engine.subscriptionStatuses().allSatisfy { $0.lag == 0 && $0.dead + $0.retrying + $0.held == 0 } }
        for customer in ["ada", "bob"] {
            let points = try await engine.unitOfWork().load(LoyaltyPoints.self, id: customer)
            say("   \(customer) has \(points?.balance ?? 0) points")
        }
        for status in try await engine.subscriptionStatuses() {
            say("   subscription \(status.name): checkpoint \(status.checkpoint), lag \(status.lag), dead \(status.dead)")
        }
        running.cancel()
        _ = await running.result
        say("Done.")
    }

    static func waitUntil(_ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw LoyaltyBug(detail: "example timed out") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

func say(_ line: String) { print(line) }

struct Order: AggregateRoot {
    static let streamType = "Order"
    let id: String
    var status = "new"
    var pendingEvents = PendingEvents()

    mutating func place(customer: String, amountCents: Int, coupon: String?) {
        status = "placed"
        record(OrderPlaced(orderID: id, customer: customer, amountCents: amountCents, coupon: coupon))
    }

    mutating func ship() {
        status = "shipped"
        record(OrderShipped(orderID: id))
    }
}

struct LoyaltyPoints: AggregateRoot {
    static let streamType = "LoyaltyPoints"
    let id: String
    var balance = 0
    var pendingEvents = PendingEvents()
}

struct OrderPlaced: DomainEvent {
    static let eventType = "OrderPlaced"
    var orderID: String
    var customer: String
    var amountCents: Int
    var coupon: String?
}

struct OrderShipped: DomainEvent {
    static let eventType = "OrderShipped"
    var orderID: String
}

struct LoyaltyBug: Error, CustomStringConvertible { var detail: String; var description: String { detail } }

/// A mail service that fails its first calls; deduplicates on the idempotency key.
final class FlakyMailService: Sendable {
    private let state: Mutex<(failuresLeft: Int, failures: Int, sent: [String: String])>

    init(failFirst: Int) { state = Mutex((failFirst, 0, [:])) }

    var sent: [String] { state.withLock { Array($0.sent.values) } }
    var failures: Int { state.withLock { $0.failures } }

    func send(_ message: String, idempotencyKey: String) throws {
        try state.withLock { state in
            if state.failuresLeft > 0 {
                state.failuresLeft -= 1
                state.failures += 1
                throw LoyaltyBug(detail: "mail service unavailable")
            }
            state.sent[idempotencyKey] = message
        }
    }
}
