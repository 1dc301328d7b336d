import Herald
import MallKernel
import MallOrderingEvents

/// What Inventory does when Ordering reports: reserve, release or commit an order's stock.
public enum InventoryReactions {
    public static let subscriptionName = "inventory.reservations"

    /// Reserves a submitted order's lines (all or none), releases them when it is
    /// cancelled, and commits them when it ships. Each step is idempotent through the
    /// order's ``Reservation``.
    public static func reservations(retryPolicy: RetryPolicy = .default) -> Subscription {
        Subscription(
            name: subscriptionName,
            eventTypes: [OrderSubmitted.eventType, OrderCancelled.eventType, OrderShipped.eventType],
            retryPolicy: retryPolicy,
            handler: .transactional { delivery, work in
                switch try delivery.event() {
                case let submitted as OrderSubmitted:
                    try await InventoryService.reserve(orderID: submitted.orderID, lines: submitted.lines, in: work)
                case let cancelled as OrderCancelled:
                    try await InventoryService.release(orderID: cancelled.orderID, in: work)
                case let shipped as OrderShipped:
                    try await InventoryService.commit(orderID: shipped.orderID, in: work)
                default:
                    return
                }
            })
    }
}
