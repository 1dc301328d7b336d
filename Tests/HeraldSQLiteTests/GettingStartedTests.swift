import Foundation
import Herald
import HeraldSQLite
import Testing

/// The code of the DocC article `GettingStarted.md` (Herald.docc), run as written on a real
/// SQLite file: the article's unit of work, subscription and projection work.
@Suite struct GettingStartedTests {
    struct OrderPlaced: DomainEvent {
        static let eventType = "OrderPlaced"
        var orderID: String
        var customer: String
        var amountCents: Int
    }

    struct Order: AggregateRoot {
        static let streamType = "Order"
        let id: String
        var placed = false
        var pendingEvents = PendingEvents()

        mutating func place(customer: String, amountCents: Int) {
            placed = true
            record(OrderPlaced(orderID: id, customer: customer, amountCents: amountCents))
        }
    }

    struct LoyaltyPoints: AggregateRoot {
        static let streamType = "LoyaltyPoints"
        let id: String
        var balance = 0
        var pendingEvents = PendingEvents()
    }

    @Test func theArticlesUnitOfWorkSubscriptionAndProjectionWork() async throws {
        let directory = try TemporaryDirectory()
        var registry = EventRegistry()
        registry.register(OrderPlaced.self)
        let engine = HeraldEngine(store: try SQLiteEventStore(path: directory.file("shop.sqlite")), registry: registry)

        let work = engine.unitOfWork()
        var order = Order(id: "o-1")
        order.place(customer: "ada", amountCents: 12_000)
        try work.save(&order)
        try await work.commit()

        let loyalty = Subscription(name: "loyalty", eventTypes: [OrderPlaced.eventType], handler: .transactional { delivery, work in
            let placed = try delivery.decode(OrderPlaced.self)
            var points = try await work.load(LoyaltyPoints.self, id: placed.customer) ?? LoyaltyPoints(id: placed.customer)
            points.balance += placed.amountCents / 100
            try work.save(&points)
        })

        let spending = ProjectionTable(
            name: "spending", columns: [.init("customer", .text), .init("cents", .integer)], primaryKey: ["customer"])
        let spendingProjection = Projection(name: "spending", version: 1, tables: [spending], eventTypes: [OrderPlaced.eventType]) { delivery, rows in
            let placed = try delivery.decode(OrderPlaced.self)
            let before = try await rows.row("spending", key: .text(placed.customer)).map { try $0.integer("cents") } ?? 0
            try rows.upsert("spending", ["customer": .text(placed.customer), "cents": .integer(before + Int64(placed.amountCents))])
        }

        try await engine.prepare(spendingProjection)
        try await engine.worker(for: loyalty).drain()
        try await engine.projectionWorker(for: spendingProjection).drain()

        let big = try await engine.rows(spendingProjection, ProjectionQuery("spending").where(.atLeast("cents", .integer(10_000))))
        #expect(try big.map { try $0.text("customer") } == ["ada"])
        #expect(try await engine.unitOfWork().load(LoyaltyPoints.self, id: "ada")?.balance == 120)
        _ = try engine.service(subscriptions: [loyalty], projections: [spendingProjection])
    }
}
