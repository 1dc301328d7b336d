import Herald
import MallKernel
import MallOrderingEvents

/// What the cart does when Ordering reports: a checked-out cart is emptied.
public enum CartReactions {
    /// Empties the ordered lines out of the member's cart once an order from it is submitted.
    public static func checkout(retryPolicy: RetryPolicy = .default) -> Subscription {
        Subscription(
            name: "cart.checkout", eventTypes: [OrderSubmitted.eventType], retryPolicy: retryPolicy,
            handler: .transactional { delivery, work in
                let submitted = try delivery.decode(OrderSubmitted.self)
                guard submitted.fromCart, var cart = try await work.load(Cart.self, id: submitted.memberID) else { return }
                cart.checkOut(submitted.lines)
                try work.save(&cart)
            })
    }
}
