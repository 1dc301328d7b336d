import Herald

extension EventRegistry {
    /// Every event Mall's contexts publish, registered under its stable name.
    public static var mall: EventRegistry {
        var registry = EventRegistry()
        let types: [any DomainEvent.Type] = [
            ProductListed.self, ProductDetailsChanged.self, ProductPriceChanged.self, ProductDelisted.self,
            MemberRegistered.self, MemberLevelChanged.self,
            CouponIssued.self, CouponRedeemed.self, CouponRejected.self, CouponReturned.self,
            StockReceived.self, StockReserved.self, StockReservationFailed.self, StockReleased.self, StockCommitted.self,
            OrderSubmitted.self, OrderAwaitingPayment.self, PaymentDeadlineReached.self, OrderPaid.self,
            OrderPaymentRejected.self, OrderShipped.self, OrderCompleted.self, OrderCancelled.self,
            PaymentRequested.self, PaymentSucceeded.self, PaymentFailed.self, RefundRequested.self, RefundCompleted.self,
        ]
        for type in types { registry.registerOpened(type) }
        return registry
    }

    private mutating func registerOpened<E: DomainEvent>(_ type: E.Type) { register(type) }
}
