import Foundation
import Herald
import MallOrderingEvents

/// Each member's orders, newest first: Ordering's read side, a Herald projection of
/// ``OrderSubmitted``. One row per order, indexed by member and submission, so a page of a
/// member's history is one index range whatever the shop's size.
public enum OrderHistory {
    static let orders = ProjectionTable(
        name: "orders",
        columns: [.init("order_id", .text), .init("member_id", .text), .init("sequence", .integer), .init("submitted_at", .real)],
        primaryKey: ["order_id"],
        indexes: [["member_id", "sequence"]])

    /// The declaration queries go through (the service runs the same projection).
    static let reader = projection()

    public static func projection(retryPolicy: RetryPolicy = .default) -> Projection {
        Projection(name: "orders", version: 1, tables: [orders], eventTypes: [OrderSubmitted.eventType], retryPolicy: retryPolicy) { delivery, rows in
            let submitted = try delivery.decode(OrderSubmitted.self)
            try rows.upsert(orders.name, [
                "order_id": .text(submitted.orderID), "member_id": .text(submitted.memberID),
                // The log position: submission order, unique, whatever the clocks of several nodes say.
                "sequence": .integer(delivery.envelope.position),
                "submitted_at": .real(delivery.envelope.occurredAt.timeIntervalSince1970),
            ])
        }
    }

    /// The ids of one page of the member's orders, newest first.
    static func page(memberID: String, page: Int, pageSize: Int, engine: HeraldEngine) async throws -> [String] {
        let query = ProjectionQuery(orders.name).where(.equals("member_id", .text(memberID)))
            .ordered(by: "sequence", ascending: false).page(size: pageSize, offset: (page - 1) * pageSize)
        return try await engine.rows(reader, query).map { try $0.text("order_id") }
    }
}
