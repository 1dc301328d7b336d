import Foundation
import Herald
import MallEvents

/// A member's orders, oldest first: kept in the same transaction as each submission.
///
/// Holds the ids of the member's latest orders, at most ``chunkSize`` of them; each full
/// chunk moves to a ``MemberOrderChunk`` written once. A submission so rewrites a document
/// of bounded size however many orders the member has placed (one growing list cost a
/// little more JSON with every order). Order `n` (from 0) is in chunk `n / chunkSize`.
///
/// Also the member's open orders (submitted or awaiting payment), which the limit on unpaid
/// orders counts: never more than that limit, and checked in the same transaction that
/// stores an order. (A document of their own cost an extra row write per order: about 12%
/// of the server's CPU per order in `mall-bench`.)
struct MemberOrders: AggregateRoot {
    static let streamType = "MemberOrders"
    static let chunkSize = 50
    let id: String
    /// How many orders the member has placed.
    private(set) var count = 0
    /// The ids of orders `count - recent.count ..< count`; `count - recent.count` is a
    /// multiple of ``chunkSize``.
    private(set) var recent: [String] = []
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

    /// Adds the member's newest order. Returns the chunks that filled up, to be saved with it.
    mutating func append(_ orderID: String) -> [MemberOrderChunk] {
        var full: [MemberOrderChunk] = []
        // More than one only for a document from before chunks, which held every id.
        while recent.count >= Self.chunkSize {
            let index = (count - recent.count) / Self.chunkSize
            full.append(MemberOrderChunk(memberID: id, index: index, orderIDs: Array(recent.prefix(Self.chunkSize))))
            recent.removeFirst(Self.chunkSize)
        }
        recent.append(orderID)
        count += 1
        return full
    }

    /// Where the id of an order is kept.
    enum Place: Equatable {
        /// In ``recent``, at this offset.
        case recent(offset: Int)
        /// In the ``MemberOrderChunk`` with this index, at this offset.
        case chunk(index: Int, offset: Int)
    }

    /// Where the id of order `n` (from 0, oldest first) is kept.
    func place(of n: Int) -> Place {
        let firstRecent = count - recent.count
        return n >= firstRecent ? .recent(offset: n - firstRecent) : .chunk(index: n / Self.chunkSize, offset: n % Self.chunkSize)
    }

    private enum CodingKeys: String, CodingKey { case id, count, recent, open, orderIDs }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        if let all = try container.decodeIfPresent([String].self, forKey: .orderIDs) {
            // Written before chunks: every id, oldest first.
            count = all.count
            recent = all
        } else {
            count = try container.decode(Int.self, forKey: .count)
            recent = try container.decode([String].self, forKey: .recent)
        }
        open = try container.decodeIfPresent([String].self, forKey: .open) ?? []  // none before the limit existed
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(count, forKey: .count)
        try container.encode(recent, forKey: .recent)
        try container.encode(open, forKey: .open)
    }
}

/// ``MemberOrders/chunkSize`` order ids of one member, oldest first: orders
/// `index × chunkSize ..< (index + 1) × chunkSize`. Written once, when the chunk fills.
struct MemberOrderChunk: AggregateRoot {
    static let streamType = "MemberOrderChunk"
    let id: String
    let orderIDs: [String]
    var pendingEvents = PendingEvents()

    init(memberID: String, index: Int, orderIDs: [String]) {
        id = Self.id(memberID: memberID, index: index)
        self.orderIDs = orderIDs
    }

    static func id(memberID: String, index: Int) -> String { "\(memberID)/\(index)" }
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
            for var chunk in list.append(orderID) { try work.save(&chunk) }
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

    /// The member's orders, newest first, one page (from 1).
    public func orders(memberID: String, page: Int = 1) async throws -> [Order] {
        guard page >= 1, page <= 10_000 else { throw InvalidInput(field: "page", "must be within 1...10000") }
        let work = engine.unitOfWork()
        guard let list = try await work.load(MemberOrders.self, id: memberID) else { return [] }
        // Page 1 is the newest `pageSize` orders: numbers count-1 down to count-pageSize.
        let newest = list.count - 1 - (page - 1) * Self.pageSize
        guard newest >= 0 else { return [] }
        var chunks: [Int: [String]] = [:]
        var orders: [Order] = []
        for n in stride(from: newest, through: max(0, newest - Self.pageSize + 1), by: -1) {
            let id: String
            switch list.place(of: n) {
            case .recent(let offset):
                id = list.recent[offset]
            case .chunk(let index, let offset):
                if chunks[index] == nil {
                    chunks[index] = try await work.load(MemberOrderChunk.self, id: MemberOrderChunk.id(memberID: memberID, index: index))?.orderIDs ?? []
                }
                guard let ids = chunks[index], offset < ids.count else { continue }
                id = ids[offset]
            }
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
