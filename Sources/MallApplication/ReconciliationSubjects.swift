import Herald
import MallInventory
import MallInventoryEvents
import MallOrdering
import MallOrderingEvents
import MallPayment
import MallPaymentEvents
import MallPricing
import MallPricingEvents

/// What reconciliation checks: the id of every order, stock, coupon wallet and payment,
/// kept from the events that create them by a Herald projection, so a run pages through
/// them in bounded memory instead of scanning the log.
@_spi(Operations) public enum ReconciliationSubjects {
    static let subjects = ProjectionTable(
        name: "subjects", columns: [.init("type", .text), .init("id", .text)], primaryKey: ["type", "id"])

    /// The declaration queries go through (the service runs the same projection).
    static let reader = projection()

    static func projection(retryPolicy: RetryPolicy = .default) -> Projection {
        Projection(
            name: "reconciliation", version: 1, tables: [subjects],
            eventTypes: [
                OrderSubmitted.eventType, StockReceived.eventType, StockReserved.eventType, CouponIssued.eventType,
                PaymentRequested.eventType,
            ],
            retryPolicy: retryPolicy
        ) { delivery, rows in
            func add(_ type: String, _ id: String) throws { try rows.upsert(subjects.name, ["type": .text(type), "id": .text(id)]) }
            switch try delivery.event() {
            case let submitted as OrderSubmitted: try add(Order.streamType, submitted.orderID)
            case let received as StockReceived: try add(Stock.streamType, received.sku)
            case let reserved as StockReserved: for line in reserved.lines { try add(Stock.streamType, line.sku) }
            case let issued as CouponIssued: try add(CouponWallet.streamType, issued.memberID)
            case let requested as PaymentRequested: try add(Payment.streamType, requested.paymentID)
            default: return
            }
        }
    }

    /// Every id of `type`, in pages of `pageSize`, in id order.
    public static func forEachPage(of type: String, pageSize: Int = 500, engine: HeraldEngine, _ body: ([String]) async throws -> Void) async throws {
        var last: String?
        while true {
            var query = ProjectionQuery(subjects.name).where(.equals("type", .text(type)))
            if let last { query = query.where(.greaterThan("id", .text(last))) }
            let ids = try await engine.rows(reader, query.ordered(by: "id").page(size: pageSize)).map { try $0.text("id") }
            guard !ids.isEmpty else { return }
            try await body(ids)
            last = ids.last
        }
    }
}
