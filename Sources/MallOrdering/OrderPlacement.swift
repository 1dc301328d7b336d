import Foundation
import Herald
import MallKernel
import MallPricingEvents

/// What Ordering needs from the rest of the shop to place an order: the price of its lines.
/// The application adapts Pricing to it; Ordering never calls Pricing itself.
public protocol PriceQuoting: Sendable {
    /// The member's price for `lines` now, with `couponCode` applied, read through `work`
    /// (the unit of work that places the order).
    ///
    /// - Throws: a ``MallProblem`` naming the field at fault (a product not on sale, a coupon
    ///   that is not the member's).
    func quote(
        lines: [StockLine], memberID: String, couponCode: String?, delivery: DeliveryOption, reading work: UnitOfWork
    ) async throws -> PriceQuote
}

/// Where an order's lines come from when the member checks out their cart. The application
/// adapts the cart to it.
public protocol CartLines: Sendable {
    /// The lines in the member's cart now, read through `work`.
    func lines(memberID: String, reading work: UnitOfWork) async throws -> [StockLine]
}

/// A member's request for an order, as Ordering understands it.
public struct OrderRequest: Sendable, Hashable {
    /// Which lines: given ones, or the cart's.
    public enum Lines: Sendable, Hashable {
        case given([StockLine])
        case cart
    }

    public var lines: Lines
    public var address: Address
    public var paymentMethod: String
    public var delivery: DeliveryOption
    public var couponCode: String?

    public init(lines: Lines, address: Address, paymentMethod: String, delivery: DeliveryOption = .standard, couponCode: String? = nil) {
        self.lines = lines
        self.address = address
        self.paymentMethod = paymentMethod
        self.delivery = delivery
        self.couponCode = couponCode
    }
}

extension OrderingService {
    /// Places an order for the member, in one unit of work: the idempotency record, the
    /// lines, the limits (checked once, here), the server's quote and the new order commit
    /// together or not at all.
    ///
    /// With an idempotency key, a repeated request returns the order the first one created
    /// (as it was then) and creates nothing; the same key with a different request is a
    /// conflict. A commit that loses a race (another order of the member, or the same key)
    /// runs the whole step again and sees the winner.
    ///
    /// - Returns: the order, and whether this call created it.
    /// - Throws: ``OrderProblem/idempotencyKeyReused(_:)``, ``OrderProblem/cartEmpty``,
    ///   ``OrderProblem/tooManyOpenOrders(limit:)``, ``OrderProblem/quantityLimit(sku:quantity:limit:)``,
    ///   `InvalidInput` naming the field, or what `quoting` throws.
    public func place(
        _ request: OrderRequest, memberID: String, idempotency: IdempotencyKey?, quoting: some PriceQuoting, cart: some CartLines
    ) async throws -> (order: Order, created: Bool) {
        let address = try request.address.validated()
        guard Self.paymentMethods.contains(request.paymentMethod) else {
            throw InvalidInput(field: "paymentMethod", "one of \(Self.paymentMethods.sorted().joined(separator: ", "))")
        }
        let orderID = "o-" + randomID()
        let recordID = idempotency.map { "\(memberID)/\($0.key)" }
        return try await engine.perform(attempts: 3) { work in
            if let idempotency, let recordID, let record = try await work.load(IdempotencyRecord.self, id: recordID) {
                guard record.fingerprint == idempotency.fingerprint else { throw OrderProblem.idempotencyKeyReused(idempotency.key) }
                if let created = record.created { return (created, false) }
                guard let order = try await work.load(Order.self, id: record.orderID) else { throw OrderProblem.notFound(record.orderID) }
                return (order, false)
            }
            let lines: [StockLine]
            switch request.lines {
            case .given(let given):
                lines = given
            case .cart:
                lines = try await cart.lines(memberID: memberID, reading: work)
                guard !lines.isEmpty else { throw OrderProblem.cartEmpty }
            }
            // A quantity no line may have is the quote's to name (400 on the line's field),
            // not a limit reached.
            if lines.allSatisfy({ (1...StockLine.maximumQuantity).contains($0.quantity) }) { try limits.check(lines) }
            let quote = try await quoting.quote(
                lines: lines, memberID: memberID, couponCode: request.couponCode, delivery: request.delivery, reading: work)
            var order = Order.submit(
                id: orderID, memberID: memberID, quote: quote, address: address, paymentMethod: request.paymentMethod,
                delivery: request.delivery.rawValue, fromCart: request.lines == .cart, at: engine.clock.now())
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
}
