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
