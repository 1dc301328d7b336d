import Herald
import MallKernel
import MallOrderingEvents

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


    /// Reserves an order's lines (all or none) unless it has a reservation already: what
    /// Inventory does when an order is submitted, and what reconciliation re-drives for an
    /// order that never got one.
    ///
    /// - Returns: the order's reservation, and whether this call made it.
    @discardableResult
    public func reserve(orderID: String, lines: [StockLine]) async throws -> (reservation: Reservation, created: Bool) {
        try await engine.perform { work in
            if let existing = try await work.load(Reservation.self, id: orderID) { return (existing, false) }
            return (try await Self.reserve(orderID: orderID, lines: lines, in: work), true)
        }
    }

    /// Releases what an order holds: what Inventory does when an order is cancelled, and
    /// what reconciliation does for a cancelled order whose stock is still held.
    ///
    /// - Returns: whether anything was released.
    @discardableResult
    public func release(orderID: String) async throws -> Bool {
        try await engine.perform { work in try await Self.release(orderID: orderID, in: work) }
    }

    @discardableResult
    static func reserve(orderID: String, lines: [StockLine], in work: UnitOfWork) async throws -> Reservation {
        if let existing = try await work.load(Reservation.self, id: orderID) { return existing }
        var stocks = try await load(lines, in: work)
        var reservation = try Reservation.reserve(orderID: orderID, lines: lines, stocks: &stocks)
        try save(&stocks, &reservation, in: work)
        return reservation
    }

    @discardableResult
    static func release(orderID: String, in work: UnitOfWork) async throws -> Bool {
        guard var reservation = try await work.load(Reservation.self, id: orderID) else { return false }
        var stocks = try await load(reservation.lines, in: work)
        try reservation.release(stocks: &stocks)
        let released = !reservation.pendingEvents.isEmpty
        try save(&stocks, &reservation, in: work)
        return released
    }

    static func commit(orderID: String, in work: UnitOfWork) async throws {
        guard var reservation = try await work.load(Reservation.self, id: orderID) else { return }
        var stocks = try await load(reservation.lines, in: work)
        try reservation.commit(stocks: &stocks)
        try save(&stocks, &reservation, in: work)
    }

    static func load(_ lines: [StockLine], in work: UnitOfWork) async throws -> [String: Stock] {
        var stocks: [String: Stock] = [:]
        for sku in Set(lines.map(\.sku)).sorted() {
            stocks[sku] = try await work.load(Stock.self, id: sku) ?? Stock(sku: sku)
        }
        return stocks
    }

    static func save(_ stocks: inout [String: Stock], _ reservation: inout Reservation, in work: UnitOfWork) throws {
        guard !reservation.pendingEvents.isEmpty else { return }
        if reservation.status != .failed {
            for var stock in stocks.values.sorted(by: { $0.sku < $1.sku }) {
                try work.save(&stock)
            }
        }
        try work.save(&reservation)
    }
}
