import Foundation
import Herald
import MallEvents
import MallInventory
import MallOrdering
import MallPayment
import MallPricing

/// One broken rule found by ``Mall/reconcile(submittedGrace:)``.
public struct Drift: Codable, Hashable, Sendable, CustomStringConvertible {
    /// The rule of DESIGN §5, e.g. `"stock.reserved-matches-reservations"`.
    public var rule: String
    /// The aggregate at fault, e.g. `"Stock/tea"`.
    public var subject: String
    public var detail: String

    public var description: String { "\(rule) \(subject): \(detail)" }
}

public struct ReconciliationReport: Codable, Hashable, Sendable {
    public var orders = 0
    public var stocks = 0
    public var wallets = 0
    public var payments = 0
    public var drifts: [Drift] = []
    /// Events not yet processed, per subscription: drift found while this is non-zero may
    /// be work in flight.
    public var lag: [String: Int64] = [:]
}

extension Mall {
    /// Checks every rule of DESIGN §5 across contexts, from the stored aggregates:
    ///
    /// - `order.paid-never-cancelled`: a cancelled order has no payment applied.
    /// - `order.not-stuck`: no order stays `submitted` longer than `submittedGrace`.
    /// - `order.reservation-matches-status`: awaiting payment or paid ⇔ stock reserved,
    ///   shipped or completed ⇔ committed, cancelled ⇒ nothing held.
    /// - `stock.non-negative`: on hand ≥ 0, reserved ≥ 0, available ≥ 0.
    /// - `stock.reserved-matches-reservations`: each SKU's reserved quantity is the sum of
    ///   the reserved reservations' lines for it.
    /// - `coupon.redeemed-once`: a redeemed coupon belongs to one live order that uses it;
    ///   an order's coupon is redeemed for it.
    /// - `payment.applied-or-refunded`: money taken is either the order's payment or refunded.
    ///
    /// Reports only; it never changes data.
    public func reconcile(submittedGrace: Duration = .seconds(300)) async throws -> ReconciliationReport {
        var report = ReconciliationReport()
        let streams = try await streamIDs(of: [Order.streamType, Stock.streamType, CouponWallet.streamType, Payment.streamType])
        let work = engine.unitOfWork()
        func drift(_ rule: String, _ subject: String, _ detail: String) {
            report.drifts.append(Drift(rule: rule, subject: subject, detail: detail))
        }

        var orders: [String: Order] = [:]
        var reservations: [String: Reservation] = [:]
        for id in streams[Order.streamType, default: []] {
            guard let order = try await work.load(Order.self, id: id) else { continue }
            orders[id] = order
            if let reservation = try await work.load(Reservation.self, id: id) { reservations[id] = reservation }
        }
        report.orders = orders.count
        let now = engine.clock.now()
        for (id, order) in orders.sorted(by: { $0.key < $1.key }) {
            let subject = "Order/\(id)"
            if order.status == .cancelled, let paymentID = order.paymentID {
                drift("order.paid-never-cancelled", subject, "cancelled with payment \(paymentID) applied")
            }
            if order.status == .submitted, order.submittedAt.adding(submittedGrace) < now {
                drift("order.not-stuck", subject, "submitted at \(order.submittedAt) and still waiting for stock or coupon")
            }
            let held = reservations[id]?.status
            let expected: Set<Reservation.Status?> = switch order.status {
            case .submitted: [nil, .reserved, .failed, .released]
            case .awaitingPayment, .paid: [.reserved]
            case .shipped, .completed: [.committed]
            case .cancelled: [nil, .failed, .released]
            }
            if !expected.contains(held) {
                drift("order.reservation-matches-status", subject, "order is \(order.status.rawValue), reservation is \(held?.rawValue ?? "missing")")
            }
        }

        for sku in streams[Stock.streamType, default: []] {
            guard let stock = try await work.load(Stock.self, id: sku) else { continue }
            report.stocks += 1
            let subject = "Stock/\(sku)"
            if stock.onHand < 0 || stock.reserved < 0 || stock.available < 0 {
                drift("stock.non-negative", subject, "on hand \(stock.onHand), reserved \(stock.reserved), available \(stock.available)")
            }
            let expected = reservations.values.filter { $0.status == .reserved }
                .flatMap(\.lines).filter { $0.sku == sku }.reduce(0) { $0 + $1.quantity }
            if stock.reserved != expected {
                drift("stock.reserved-matches-reservations", subject,
                      "reserved \(stock.reserved), but the reserved reservations hold \(expected)")
            }
        }

        var redeemedBy: [String: String] = [:]  // order id → coupon code
        for memberID in streams[CouponWallet.streamType, default: []] {
            guard let wallet = try await work.load(CouponWallet.self, id: memberID) else { continue }
            report.wallets += 1
            for coupon in wallet.coupons where coupon.status == .redeemed {
                let subject = "CouponWallet/\(memberID)"
                guard let orderID = coupon.orderID, let order = orders[orderID] else {
                    drift("coupon.redeemed-once", subject, "coupon \(coupon.code) redeemed for an unknown order")
                    continue
                }
                redeemedBy[orderID] = coupon.code
                if order.status == .cancelled {
                    drift("coupon.redeemed-once", subject, "coupon \(coupon.code) still held by cancelled order \(orderID)")
                } else if order.quote.couponCode != coupon.code {
                    drift("coupon.redeemed-once", subject, "coupon \(coupon.code) held by order \(orderID), which does not use it")
                }
            }
        }
        for (id, order) in orders where order.couponSettled && order.status != .cancelled {
            if let code = order.quote.couponCode, redeemedBy[id] != code {
                drift("coupon.redeemed-once", "Order/\(id)", "uses coupon \(code), which is not redeemed for it")
            }
        }

        for paymentID in streams[Payment.streamType, default: []] {
            guard let payment = try await work.load(Payment.self, id: paymentID) else { continue }
            report.payments += 1
            guard payment.status == .succeeded else { continue }
            if orders[payment.orderID]?.paymentID != paymentID {
                drift("payment.applied-or-refunded", "Payment/\(paymentID)", "succeeded, but neither applied to order \(payment.orderID) nor refunded")
            }
        }

        let head = try await engine.store.headPosition()
        for (name, checkpoint) in try await engine.store.checkpoints() where head > checkpoint {
            report.lag[name] = head - checkpoint
        }
        return report
    }

    /// The ids of every stream of the given types that has events, from the log.
    private func streamIDs(of types: Set<String>) async throws -> [String: [String]] {
        var found: [String: Set<String>] = [:]
        try await engine.store.scanLog { batch in
            for event in batch where types.contains(event.stream.type) { found[event.stream.type, default: []].insert(event.stream.id) }
        }
        return found.mapValues { $0.sorted() }
    }
}
