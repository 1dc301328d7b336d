import Herald
import MallKernel
import MallOrderingEvents

/// What Inventory does when Ordering reports: reserve, release or commit an order's stock.
public enum InventoryReactions {
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
                    var stocks = try await InventoryService.load(submitted.lines, in: work)
                    var reservation = try Reservation.reserve(orderID: submitted.orderID, lines: submitted.lines, stocks: &stocks)
                    try InventoryService.save(&stocks, &reservation, in: work)
                case let cancelled as OrderCancelled:
                    guard var reservation = try await work.load(Reservation.self, id: cancelled.orderID) else { return }
                    var stocks = try await InventoryService.load(reservation.lines, in: work)
                    try reservation.release(stocks: &stocks)
                    try InventoryService.save(&stocks, &reservation, in: work)
                case let shipped as OrderShipped:
                    guard var reservation = try await work.load(Reservation.self, id: shipped.orderID) else { return }
                    var stocks = try await InventoryService.load(reservation.lines, in: work)
                    try reservation.commit(stocks: &stocks)
                    try InventoryService.save(&stocks, &reservation, in: work)
                default:
                    return
                }
            })
    }
}
