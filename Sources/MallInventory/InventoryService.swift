import Herald
import MallEvents

/// The Inventory context's use cases and the subscription that serves orders.
public struct InventoryService: Sendable {
    let engine: HeraldEngine

    public init(engine: HeraldEngine) { self.engine = engine }

    /// Goods for `sku` arrived.
    @discardableResult
    public func receive(sku: String, quantity: Int) async throws -> Stock {
        try await engine.perform { work in
            var stock = try await work.load(Stock.self, id: sku) ?? Stock(sku: sku)
            try stock.receive(quantity)
            let result = stock
            try work.save(&stock)
            return result
        }
    }

    public func stock(sku: String) async throws -> Stock {
        try await engine.unitOfWork().load(Stock.self, id: sku) ?? Stock(sku: sku)
    }

    public func reservation(orderID: String) async throws -> Reservation? {
        try await engine.unitOfWork().load(Reservation.self, id: orderID)
    }

    /// Reserves a submitted order's lines (all or none), releases them when it is
    /// cancelled, and commits them when it ships. Each step is idempotent through the
    /// order's ``Reservation``.
    public static func reservations(retryPolicy: RetryPolicy = .default) -> Subscription {
        Subscription(
            name: "inventory.reservations",
            eventTypes: [OrderSubmitted.eventType, OrderCancelled.eventType, OrderShipped.eventType],
            retryPolicy: retryPolicy,
            handler: .transactional { delivery, work in
                switch try delivery.event() {
                case let submitted as OrderSubmitted:
                    guard try await work.load(Reservation.self, id: submitted.orderID) == nil else { return }
                    var stocks = try await load(submitted.lines, in: work)
                    var reservation = try Reservation.reserve(orderID: submitted.orderID, lines: submitted.lines, stocks: &stocks)
                    try save(&stocks, &reservation, in: work)
                case let cancelled as OrderCancelled:
                    guard var reservation = try await work.load(Reservation.self, id: cancelled.orderID) else { return }
                    var stocks = try await load(reservation.lines, in: work)
                    try reservation.release(stocks: &stocks)
                    try save(&stocks, &reservation, in: work)
                case let shipped as OrderShipped:
                    guard var reservation = try await work.load(Reservation.self, id: shipped.orderID) else { return }
                    var stocks = try await load(reservation.lines, in: work)
                    try reservation.commit(stocks: &stocks)
                    try save(&stocks, &reservation, in: work)
                default:
                    return
                }
            })
    }

    private static func load(_ lines: [StockLine], in work: UnitOfWork) async throws -> [String: Stock] {
        var stocks: [String: Stock] = [:]
        for sku in Set(lines.map(\.sku)).sorted() {
            stocks[sku] = try await work.load(Stock.self, id: sku) ?? Stock(sku: sku)
        }
        return stocks
    }

    private static func save(_ stocks: inout [String: Stock], _ reservation: inout Reservation, in work: UnitOfWork) throws {
        guard !reservation.pendingEvents.isEmpty else { return }
        if reservation.status != .failed {
            for var stock in stocks.values.sorted(by: { $0.sku < $1.sku }) {
                try work.save(&stock)
            }
        }
        try work.save(&reservation)
    }
}
