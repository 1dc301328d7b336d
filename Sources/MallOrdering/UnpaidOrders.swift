import Foundation
import Herald
import MallOrderingEvents

/// Orders awaiting payment, by deadline: the read side the payment-deadline sweeper asks
/// for orders whose deadline has passed. A row from ``OrderAwaitingPayment`` until the
/// order is paid or cancelled; each order in one of ``bucketCount`` buckets (a stable hash
/// of its id), so a job's items can split the sweep between them.
public enum UnpaidOrders {
    /// Buckets the orders are spread over; a job's items take them in turn.
    public static let bucketCount = 64

    static let unpaid = ProjectionTable(
        name: "unpaid",
        columns: [.init("order_id", .text), .init("bucket", .integer), .init("deadline", .real)],
        primaryKey: ["order_id"],
        indexes: [["bucket", "deadline"]])

    static let reader = projection()

    public static func projection(retryPolicy: RetryPolicy = .default) -> Projection {
        Projection(
            name: "unpaid_orders", version: 1, tables: [unpaid],
            eventTypes: [OrderAwaitingPayment.eventType, OrderPaid.eventType, OrderCancelled.eventType], retryPolicy: retryPolicy
        ) { delivery, rows in
            switch try delivery.event() {
            case let waiting as OrderAwaitingPayment:
                try rows.upsert(unpaid.name, [
                    "order_id": .text(waiting.orderID), "bucket": .integer(Int64(bucket(of: waiting.orderID))),
                    "deadline": .real(waiting.deadline.timeIntervalSince1970),
                ])
            case let paid as OrderPaid: try rows.delete(unpaid.name, key: .text(paid.orderID))
            case let cancelled as OrderCancelled: try rows.delete(unpaid.name, key: .text(cancelled.orderID))
            default: return
            }
        }
    }

    static func bucket(of orderID: String) -> Int {
        Int(Partitioning.streamHash(StreamID(type: Order.streamType, id: orderID)) % Int64(bucketCount))
    }

    /// The buckets of item `item` of `items`.
    public static func buckets(item: Int, of items: Int) -> [Int] {
        (0..<bucketCount).filter { $0 % max(items, 1) == item }
    }

    /// Up to `limit` orders of `buckets` whose deadline is before `before`, earliest first.
    static func overdue(buckets: [Int], before: Date, limit: Int, engine: HeraldEngine) async throws -> [String] {
        let query = ProjectionQuery(unpaid.name)
            .where(.oneOf("bucket", buckets.map { .integer(Int64($0)) }))
            .where(.lessThan("deadline", .real(before.timeIntervalSince1970)))
            .ordered(by: "deadline").page(size: limit, offset: 0)
        return try await engine.rows(reader, query).map { try $0.text("order_id") }
    }
}
