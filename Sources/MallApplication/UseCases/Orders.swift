import MallOrdering

/// Orders after they are placed: reading, cancelling, shipping, completing.
extension Mall {
    /// The member's order (`memberID` `nil`: any order, for the admin).
    public func order(id: String, memberID: String?) async throws -> OrderBody {
        OrderBody(try await ordering.order(id: id, memberID: memberID))
    }

    /// The member's orders, newest first, one page (from 1).
    public func orders(memberID: String, page: Int = 1) async throws -> [OrderSummaryBody] {
        try await ordering.orders(memberID: memberID, page: page).map(OrderSummaryBody.init)
    }

    /// The member cancels an order before paying.
    @discardableResult
    public func cancelOrder(id: String, memberID: String) async throws -> OrderBody {
        OrderBody(try await ordering.cancel(id: id, memberID: memberID))
    }

    /// The member (or the admin, with `memberID` `nil`) confirms delivery.
    @discardableResult
    public func completeOrder(id: String, memberID: String?) async throws -> OrderBody {
        OrderBody(try await ordering.complete(id: id, memberID: memberID))
    }

    /// The warehouse hands a paid order to the carrier.
    @discardableResult
    public func shipOrder(id: String) async throws -> OrderBody { OrderBody(try await ordering.ship(id: id)) }
}
