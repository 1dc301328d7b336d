import Herald

/// Every event Mall's contexts publish to each other (each context's own events, heard by
/// no other, are listed by that context).
public enum PublishedEvents {
    public static let all: [any DomainEvent.Type] = [
        ProductListed.self, ProductDetailsChanged.self, ProductPriceChanged.self, ProductDelisted.self,
        MemberRegistered.self, MemberLevelChanged.self,
        CouponIssued.self, CouponRedeemed.self, CouponRejected.self, CouponReturned.self,
        StockReceived.self, StockReserved.self, StockReservationFailed.self, StockReleased.self, StockCommitted.self,
        OrderSubmitted.self, OrderAwaitingPayment.self, PaymentDeadlineReached.self, OrderPaid.self,
        OrderPaymentRejected.self, OrderShipped.self, OrderCompleted.self, OrderCancelled.self,
        PaymentRequested.self, PaymentSucceeded.self, PaymentFailed.self, RefundRequested.self, RefundCompleted.self,
    ]
}
