import Foundation
import Herald
import MallEvents

/// A member's open orders (submitted or awaiting payment), which the limit on unpaid
/// orders counts: never more than that limit, and checked in the same transaction that
/// stores an order. (The member's whole history is ``OrderHistory``, a projection.)
struct MemberOrders: AggregateRoot {
    static let streamType = "MemberOrders"
    let id: String
    /// Orders submitted or awaiting payment; one leaves when it is paid or cancelled.
    private(set) var open: [String] = []
    var pendingEvents = PendingEvents()

    init(memberID: String) { id = memberID }

    /// Counts an order as open, unless the member already has `limit` open ones.
    mutating func open(_ orderID: String, limit: Int) throws {
        guard open.count < limit else { throw OrderProblem.tooManyOpenOrders(limit: limit) }
        open.append(orderID)
    }

    /// An order is no longer open; whether it was.
    mutating func close(_ orderID: String) -> Bool {
        guard let index = open.firstIndex(of: orderID) else { return false }
        open.remove(at: index)
        return true
    }

    private enum CodingKeys: String, CodingKey { case id, open }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        // Documents from before the history moved to OrderHistory also hold the ids of every
        // order (`recent`, `orderIDs`); they are ignored, and dropped on the next save.
        open = try container.decodeIfPresent([String].self, forKey: .open) ?? []
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(open, forKey: .open)
    }
}

/// How much one member may ask of the shop at once.
public struct OrderLimits: Sendable, Hashable {
    /// Orders submitted or awaiting payment at once, per member.
    public var openOrdersPerMember: Int
    /// Units of one SKU in one order (lines of the same SKU count together).
    public var quantityPerSKU: Int

    public init(openOrdersPerMember: Int = 5, quantityPerSKU: Int = 20) {
        self.openOrdersPerMember = openOrdersPerMember
        self.quantityPerSKU = quantityPerSKU
    }

    /// - Throws: ``OrderProblem/quantityLimit(sku:quantity:limit:)`` for the first SKU whose
    ///   lines together ask for more than ``quantityPerSKU``.
    public func check(_ lines: [StockLine]) throws {
        var totals: [String: Int] = [:]
        for line in lines {
            let total = totals[line.sku, default: 0] &+ line.quantity
            totals[line.sku] = total
            guard total <= quantityPerSKU else { throw OrderProblem.quantityLimit(sku: line.sku, quantity: total, limit: quantityPerSKU) }
        }
    }
}

/// Remembers which order an `Idempotency-Key` created, for which request, and the order
/// as that request's response showed it: a retry gets the same answer, whatever happened to
/// the order since.
struct IdempotencyRecord: AggregateRoot {
    static let streamType = "OrderIdempotency"
    let id: String
    var orderID: String
    var fingerprint: String
    /// The order as first created (`nil` in records written before it was kept).
    var created: Order?
    var pendingEvents = PendingEvents()
}

/// What the customer asked for, besides the lines (which the quote carries).
public struct OrderDetails: Sendable, Hashable {
    public var address: Address
    public var paymentMethod: String
    public var delivery: String
    public var fromCart: Bool

    public init(address: Address, paymentMethod: String, delivery: String, fromCart: Bool) {
        self.address = address
        self.paymentMethod = paymentMethod
        self.delivery = delivery
        self.fromCart = fromCart
    }
}

/// An `Idempotency-Key` and a fingerprint of the request it came with.
public struct IdempotencyKey: Sendable, Hashable {
    public var key: String
    public var fingerprint: String

    public init(key: String, fingerprint: String) throws {
        guard (1...128).contains(key.count), key.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw InvalidInput(field: "Idempotency-Key", "1 to 128 visible ASCII characters")
        }
        self.key = key
        self.fingerprint = fingerprint
    }
}

/// The Ordering context's use cases and the process that moves orders along.
public struct OrderingService: Sendable {
    public static let paymentMethods: Set<String> = ["card", "wallet"]
    public static let pageSize = 20

    let engine: HeraldEngine
    public let limits: OrderLimits

    public init(engine: HeraldEngine, limits: OrderLimits = OrderLimits()) {
        self.engine = engine
        self.limits = limits
    }

    /// Creates an order from a server-computed quote.
    ///
    /// With an idempotency key, a repeated request returns the order the first one
    /// created and creates nothing. The member's open orders and the quantities are checked
    /// against ``limits`` in the same transaction that stores the order.
    /// - Returns: the order, and whether it was created by this call.
    /// - Throws: ``OrderProblem/tooManyOpenOrders(limit:)``, ``OrderProblem/quantityLimit(sku:quantity:limit:)``.
    public func submit(memberID: String, quote: PriceQuote, details: OrderDetails, idempotency: IdempotencyKey?) async throws -> (order: Order, created: Bool) {
        let address = try details.address.validated()
        guard Self.paymentMethods.contains(details.paymentMethod) else {
            throw InvalidInput(field: "paymentMethod", "one of \(Self.paymentMethods.sorted().joined(separator: ", "))")
        }
        let orderID = "o-" + Self.randomID()
        let recordID = idempotency.map { "\(memberID)/\($0.key)" }
        // A conflict means another order of this member, or the same key, got in first:
        // the body runs again and sees it.
        return try await engine.perform(attempts: 3) { work in
            if let idempotency, let recordID, let record = try await work.load(IdempotencyRecord.self, id: recordID) {
                guard record.fingerprint == idempotency.fingerprint else { throw OrderProblem.idempotencyKeyReused(idempotency.key) }
                if let created = record.created { return (created, false) }
                guard let order = try await work.load(Order.self, id: record.orderID) else { throw OrderProblem.notFound(record.orderID) }
                return (order, false)
            }
            var order = Order.submit(
                id: orderID, memberID: memberID, quote: quote, address: address, paymentMethod: details.paymentMethod,
                delivery: details.delivery, fromCart: details.fromCart, at: engine.clock.now())
            try limits.check(order.lines)
            let created = order
            var list = try await work.load(MemberOrders.self, id: memberID) ?? MemberOrders(memberID: memberID)
            try list.open(orderID, limit: limits.openOrdersPerMember)
            try work.save(&order)
            try work.save(&list)
            if let idempotency, let recordID {
                var record = IdempotencyRecord(id: recordID, orderID: orderID, fingerprint: idempotency.fingerprint, created: created)
                try work.save(&record)
            }
            return (created, true)
        }
    }

    /// The order an earlier request with this idempotency key created, as that request's
    /// response showed it (its state then, not now), if any.
    ///
    /// - Throws: ``OrderProblem/idempotencyKeyReused(_:)`` when that request was different.
    public func existingOrder(memberID: String, idempotency: IdempotencyKey) async throws -> Order? {
        let work = engine.unitOfWork()
        guard let record = try await work.load(IdempotencyRecord.self, id: "\(memberID)/\(idempotency.key)") else { return nil }
        guard record.fingerprint == idempotency.fingerprint else { throw OrderProblem.idempotencyKeyReused(idempotency.key) }
        if let created = record.created { return created }
        return try await work.load(Order.self, id: record.orderID)
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

    static func randomID() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(UInt64.random(in: .min ... .max, using: &generator), radix: 36)
    }

    /// Moves orders along as Inventory, Pricing and Payment report back, and when payment
    /// deadlines pass. `paymentWindow` is how long an order may wait for payment.
    public static func process(paymentWindow: Duration, retryPolicy: RetryPolicy = .default) -> Subscription {
        Subscription(
            name: "ordering.process",
            eventTypes: [
                StockReserved.eventType, StockReservationFailed.eventType, CouponRedeemed.eventType, CouponRejected.eventType,
                PaymentSucceeded.eventType, PaymentDeadlineReached.eventType,
            ],
            retryPolicy: retryPolicy,
            handler: .transactional { delivery, work in
                let now = delivery.envelope.occurredAt
                let event = try delivery.event()
                guard let orderID = orderID(of: event), let loaded = try await work.load(Order.self, id: orderID) else { return }
                var order = loaded
                var deadline: Date?
                switch event {
                case is StockReserved:
                    deadline = order.stockWasReserved(at: now, paymentWindow: paymentWindow)
                case let failed as StockReservationFailed:
                    try order.cancel(.outOfStock, detail: failed.reason, at: now)
                case is CouponRedeemed:
                    deadline = order.couponWasRedeemed(at: now, paymentWindow: paymentWindow)
                case let rejected as CouponRejected:
                    try order.cancel(.couponRejected, detail: rejected.reason, at: now)
                case let paid as PaymentSucceeded:
                    if order.paymentSucceeded(paymentID: paid.paymentID, amount: paid.amount, at: now), order.status == .paid {
                        work.cancelScheduledMessage(key: Order.deadlineKey(orderID))
                    }
                case is PaymentDeadlineReached:
                    order.paymentDeadlineReached(at: now)
                default:
                    return
                }
                if let deadline {
                    try work.schedule(PaymentDeadlineReached(orderID: orderID), to: order.stream, at: deadline, key: Order.deadlineKey(orderID))
                }
                // Some steps change state without an event (stock held, coupon not yet).
                guard order != loaded || !order.pendingEvents.isEmpty else { return }
                if order.status != loaded.status { try await closeIfDone(order, in: work) }
                try work.save(&order)
            })
    }

    private static func orderID(of event: any DomainEvent) -> String? {
        switch event {
        case let e as StockReserved: e.orderID
        case let e as StockReservationFailed: e.orderID
        case let e as CouponRedeemed: e.orderID
        case let e as CouponRejected: e.orderID
        case let e as PaymentSucceeded: e.orderID
        case let e as PaymentDeadlineReached: e.orderID
        default: nil
        }
    }
}
