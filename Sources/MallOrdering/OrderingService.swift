import Foundation
import Herald
import MallInventoryEvents
import MallKernel
import MallOrderingEvents
import MallPaymentEvents
import MallPricingEvents

/// The Ordering context's use cases (its reactions are ``OrderingReactions``).
public struct OrderingService: Sendable {
    public static let paymentMethods: Set<String> = ["card", "wallet"]
    public static let pageSize = 20

    let engine: HeraldEngine
    public let limits: OrderLimits

    public init(engine: HeraldEngine, limits: OrderLimits = OrderLimits()) {
        self.engine = engine
        self.limits = limits
    }

    /// Forgets the idempotency keys used before `date`: a request repeating one of those
    /// keys is taken as a new order.
    ///
    /// - Returns: how many records were deleted.
    public func pruneIdempotencyRecords(writtenBefore date: Date) async throws -> Int {
        try await engine.pruneDocuments(ofType: IdempotencyRecord.streamType, writtenBefore: date)
    }

    /// The member's order (someone else's is "not found").
    public func order(id: String, memberID: String?) async throws -> Order {
        guard let order = try await engine.unitOfWork().load(Order.self, id: id), memberID == nil || order.memberID == memberID else {
            throw OrderProblem.notFound(id)
        }
        return order
    }

    /// The member's orders, newest first, one page (from 1): a query of ``OrderHistory``
    /// (which follows submissions within moments), each order as stored now.
    public func orders(memberID: String, page: Int = 1) async throws -> [Order] {
        guard page >= 1, page <= 10_000 else { throw InvalidInput(field: "page", "must be within 1...10000") }
        let work = engine.unitOfWork()
        var orders: [Order] = []
        for id in try await OrderHistory.page(memberID: memberID, page: page, pageSize: Self.pageSize, engine: engine) {
            if let order = try await work.load(Order.self, id: id) { orders.append(order) }
        }
        return orders
    }

    /// The customer cancels before paying.
    @discardableResult
    public func cancel(id: String, memberID: String) async throws -> Order {
        try await change(id: id, memberID: memberID) { order, now, work in
            try order.cancel(.customer, detail: "cancelled by the customer", at: now)
            work.cancelScheduledMessage(key: Order.deadlineKey(id))
        }
    }

    /// The payment-deadline sweeper's step, a backstop to the deadline message: cancels
    /// `id` by the same rule the message applies (only while it still awaits payment) if its
    /// deadline was more than `grace` ago, and drops the message. A payment committed first
    /// wins; one committed meanwhile makes this commit fail and try again, finding it paid.
    ///
    /// - Returns: whether it cancelled the order.
    @discardableResult
    public func cancelIfPastDeadline(id: String, grace: Duration) async throws -> Bool {
        try await engine.perform { work in
            let now = engine.clock.now()
            guard var order = try await work.load(Order.self, id: id), order.status == .awaitingPayment,
                let deadline = order.paymentDeadline, deadline.adding(grace) <= now
            else { return false }
            order.paymentDeadlineReached(at: now)
            work.cancelScheduledMessage(key: Order.deadlineKey(id))
            try await Self.closeIfDone(order, in: work)
            try work.save(&order)
            return true
        }
    }

    /// Orders of the given buckets (``UnpaidOrders/buckets(item:of:)``) still awaiting
    /// payment more than `grace` after their deadline, earliest first, at most `limit`.
    public func overdueOrders(buckets: [Int], grace: Duration, limit: Int) async throws -> [String] {
        try await UnpaidOrders.overdue(buckets: buckets, before: engine.clock.now().adding(.zero - grace), limit: limit, engine: engine)
    }

    /// The warehouse hands a paid order to the carrier.
    @discardableResult
    public func ship(id: String) async throws -> Order {
        try await change(id: id, memberID: nil) { order, now, _ in try order.ship(at: now) }
    }

    /// The customer received the order.
    @discardableResult
    public func complete(id: String, memberID: String?) async throws -> Order {
        try await change(id: id, memberID: memberID) { order, now, _ in try order.complete(at: now) }
    }

    private func change(id: String, memberID: String?, _ body: @escaping (inout Order, Date, UnitOfWork) throws -> Void) async throws -> Order {
        try await engine.perform { work in
            guard var order = try await work.load(Order.self, id: id), memberID == nil || order.memberID == memberID else {
                throw OrderProblem.notFound(id)
            }
            try body(&order, engine.clock.now(), work)
            try await Self.closeIfDone(order, in: work)
            let result = order
            try work.save(&order)
            return result
        }
    }

    /// Takes a paid or cancelled order out of its member's open orders.
    static func closeIfDone(_ order: Order, in work: UnitOfWork) async throws {
        guard order.status != .submitted, order.status != .awaitingPayment else { return }
        guard var list = try await work.load(MemberOrders.self, id: order.memberID), list.close(order.id) else { return }
        try work.save(&list)
    }

    /// 64 random bits in base 36, from the engine's source (the system's generator in a
    /// server; a simulation's seed makes them repeat).
    func randomID() -> String { String(engine.random.nextBits(), radix: 36) }
}
