@_spi(Operations) import MallApplication
import Foundation
import Herald
import MallInventory
import MallOrdering
import MallPayment
import MallPricing

/// One broken rule found by ``Mall/reconcile(submittedGrace:)``.
public struct Drift: Codable, Hashable, Sendable, CustomStringConvertible {
    /// The rule broken, e.g. `"stock.reserved-matches-reservations"`.
    public var rule: String
    /// The aggregate at fault, e.g. `"Stock/tea"`.
    public var subject: String
    public var detail: String
    /// What would repair it safely (``Mall/reconcileAndRepair(submittedGrace:settleTimeout:refunds:)``),
    /// or `nil` when an operator must look (money taken for a cancelled order, counts that
    /// disagree).
    public var remedy: Remedy?

    public init(rule: String, subject: String, detail: String, remedy: Remedy? = nil) {
        self.rule = rule
        self.subject = subject
        self.detail = detail
        self.remedy = remedy
    }

    public var description: String { "\(rule) \(subject): \(detail)" + (remedy.map { " [repair: \($0)]" } ?? "") }
}

/// A repair reconciliation may make: each a domain command that leaves events, the same
/// step the saga would have taken.
public enum Remedy: Codable, Hashable, Sendable, CustomStringConvertible {
    /// Release the stock a cancelled order still holds (`StockReleased`).
    case releaseReservation(orderID: String)
    /// Give back the coupon a cancelled order still holds (`CouponReturned`).
    case returnCoupon(memberID: String, orderID: String)
    /// Take a stuck order's next step again: reserve its stock, settle its coupon.
    case redriveOrder(orderID: String)
    /// Refund, through the payment gateway, money neither applied to its order nor
    /// refunded (`RefundRequested` saying why, then `RefundCompleted`).
    case refund(paymentID: String, orderID: String)

    public var description: String {
        switch self {
        case .releaseReservation: "release the reservation"
        case .returnCoupon: "return the coupon"
        case .redriveOrder: "re-drive the order's next step"
        case .refund: "refund through the gateway"
        }
    }
}

public struct ReconciliationReport: Codable, Hashable, Sendable {
    public init() {}

    public var orders = 0
    public var stocks = 0
    public var wallets = 0
    public var payments = 0
    public var drifts: [Drift] = []
    /// Events not yet processed, per subscription: drift found while this is non-zero may
    /// be work in flight.
    public var lag: [String: Int64] = [:]
    /// Dead letters per subscription (events delivered to the dead-letter list count as
    /// handled: an operator replays or discards them).
    public var deadLetters: [String: Int] = [:]
}

extension Mall {
    /// Checks every rule that spans contexts (docs/ARCHITECTURE.md, "The order saga"), from the stored aggregates:
    ///
    /// - `order.paid-never-cancelled`: a cancelled order has no payment applied.
    /// - `order.not-stuck`: no order stays `submitted` longer than `submittedGrace` (but one
    ///   waiting for its coupon while the `coupons-deferred` switch is on).
    /// - `order.reservation-matches-status`: awaiting payment or paid ⇔ stock reserved,
    ///   shipped or completed ⇔ committed, cancelled ⇒ nothing held.
    /// - `stock.non-negative`: on hand ≥ 0, reserved ≥ 0, available ≥ 0.
    /// - `stock.reserved-matches-reservations`: each SKU's reserved quantity is the sum of
    ///   the reserved reservations' lines for it.
    /// - `coupon.redeemed-once`: a redeemed coupon belongs to one live order that uses it;
    ///   an order's coupon is redeemed for it.
    /// - `payment.applied-or-refunded`: money taken is either the order's payment or refunded.
    /// - `subscription.delivers`: every event is handled by every subscription and
    ///   projection, or is a dead letter, within `deliveryGrace` of being recorded.
    ///
    /// Reports only; it never changes data (see ``reconcileAndRepair(submittedGrace:settleTimeout:refunds:)``). Reads the ids to check from
    /// ``ReconciliationSubjects`` page by page, and each page's documents in a unit of work
    /// of its own, so memory stays bounded whatever the shop's size: what it keeps across
    /// pages is the quantity the reserved reservations hold per SKU.
    public func reconcile(submittedGrace: Duration = .seconds(300), deliveryGrace: Duration = .seconds(300)) async throws -> ReconciliationReport {
        var report = ReconciliationReport()
        func drift(_ rule: String, _ subject: String, _ detail: String, _ remedy: Remedy? = nil) {
            report.drifts.append(Drift(rule: rule, subject: subject, detail: detail, remedy: remedy))
        }
        let now = engine.clock.now()
        let couponsDeferred = try await governance.current().rules.couponsDeferred

        var reservedBySKU: [String: Int] = [:]
        // Each page's documents are read in a few statements, not one per subject (on
        // PostgreSQL a round trip each was most of the time).
        try await ReconciliationSubjects.forEachPage(of: Order.streamType, engine: engine) { ids in
            let work = engine.unitOfWork()
            try await work.prefetch(Order.self, ids: ids)
            try await work.prefetch(Reservation.self, ids: ids)
            for id in ids {
                guard let order = try await work.load(Order.self, id: id) else { continue }
                report.orders += 1
                let subject = "Order/\(id)"
                if order.status == .cancelled, let paymentID = order.paymentID {
                    drift("order.paid-never-cancelled", subject, "cancelled with payment \(paymentID) applied")
                }
                // Under the coupons-deferred switch an order waits for its coupon by design.
                if order.status == .submitted, order.submittedAt.adding(submittedGrace) < now, !(couponsDeferred && !order.couponSettled) {
                    drift("order.not-stuck", subject, "submitted at \(order.submittedAt) and still waiting for stock or coupon", .redriveOrder(orderID: id))
                }
                let reservation = try await work.load(Reservation.self, id: id)
                if let reservation, reservation.status == .reserved {
                    for line in reservation.lines { reservedBySKU[line.sku, default: 0] += line.quantity }
                }
                let held = reservation?.status
                let expected: Set<Reservation.Status?> = switch order.status {
                case .submitted: [nil, .reserved, .failed, .released]
                case .awaitingPayment, .paid: [.reserved]
                case .shipped, .completed: [.committed]
                case .cancelled: [nil, .failed, .released]
                }
                if !expected.contains(held) {
                    drift("order.reservation-matches-status", subject, "order is \(order.status.rawValue), reservation is \(held?.rawValue ?? "missing")",
                          order.status == .cancelled && order.paymentID == nil && held == .reserved ? .releaseReservation(orderID: id) : nil)
                }
                if order.couponSettled, order.status != .cancelled, let code = order.quote.couponCode {
                    let coupon = try await work.load(CouponWallet.self, id: order.memberID)?.coupon(code)
                    if coupon?.status != .redeemed || coupon?.orderID != id {
                        drift("coupon.redeemed-once", subject, "uses coupon \(code), which is not redeemed for it")
                    }
                }
            }
        }

        try await ReconciliationSubjects.forEachPage(of: Stock.streamType, engine: engine) { skus in
            let work = engine.unitOfWork()
            try await work.prefetch(Stock.self, ids: skus)
            for sku in skus {
                guard let stock = try await work.load(Stock.self, id: sku) else { continue }
                report.stocks += 1
                let subject = "Stock/\(sku)"
                if stock.onHand < 0 || stock.reserved < 0 || stock.available < 0 {
                    drift("stock.non-negative", subject, "on hand \(stock.onHand), reserved \(stock.reserved), available \(stock.available)")
                }
                let expected = reservedBySKU[sku] ?? 0
                if stock.reserved != expected {
                    drift("stock.reserved-matches-reservations", subject,
                          "reserved \(stock.reserved), but the reserved reservations hold \(expected)")
                }
            }
        }

        try await ReconciliationSubjects.forEachPage(of: CouponWallet.streamType, engine: engine) { memberIDs in
            let work = engine.unitOfWork()
            try await work.prefetch(CouponWallet.self, ids: memberIDs)
            var wallets: [(String, CouponWallet)] = []
            for memberID in memberIDs {
                if let wallet = try await work.load(CouponWallet.self, id: memberID) { wallets.append((memberID, wallet)) }
            }
            try await work.prefetch(Order.self, ids: wallets.flatMap { $0.1.coupons.filter { $0.status == .redeemed }.compactMap(\.orderID) })
            for (memberID, wallet) in wallets {
                report.wallets += 1
                let subject = "CouponWallet/\(memberID)"
                for coupon in wallet.coupons where coupon.status == .redeemed {
                    guard let orderID = coupon.orderID, let order = try await work.load(Order.self, id: orderID) else {
                        drift("coupon.redeemed-once", subject, "coupon \(coupon.code) redeemed for an unknown order")
                        continue
                    }
                    if order.status == .cancelled {
                        drift("coupon.redeemed-once", subject, "coupon \(coupon.code) still held by cancelled order \(orderID)",
                              .returnCoupon(memberID: memberID, orderID: orderID))
                    } else if order.quote.couponCode != coupon.code {
                        drift("coupon.redeemed-once", subject, "coupon \(coupon.code) held by order \(orderID), which does not use it")
                    }
                }
            }
        }

        try await ReconciliationSubjects.forEachPage(of: Payment.streamType, engine: engine) { paymentIDs in
            let work = engine.unitOfWork()
            try await work.prefetch(Payment.self, ids: paymentIDs)
            var payments: [(String, Payment)] = []
            for paymentID in paymentIDs {
                if let payment = try await work.load(Payment.self, id: paymentID) { payments.append((paymentID, payment)) }
            }
            try await work.prefetch(Order.self, ids: payments.filter { $0.1.status == .succeeded }.map(\.1.orderID))
            for (paymentID, payment) in payments {
                report.payments += 1
                guard payment.status == .succeeded else { continue }
                if try await work.load(Order.self, id: payment.orderID)?.paymentID != paymentID {
                    drift("payment.applied-or-refunded", "Payment/\(paymentID)", "succeeded, but neither applied to order \(payment.orderID) nor refunded",
                          .refund(paymentID: paymentID, orderID: payment.orderID))
                }
            }
        }

        report.lag = try await lag(of: try await runningCheckpointNames(), behind: try await engine.store.headPosition())
        let checkpoints = try await engine.store.checkpoints()
        // Under the coupons-deferred switch the coupon subscription waits by design.
        for (name, behind) in report.lag.sorted(by: { $0.key < $1.key }) where !(couponsDeferred && Partitioning.subscription(ofCheckpoint: name) == PricingReactions.couponsSubscription) {
            guard let checkpoint = checkpoints[name], let oldest = try await engine.store.events(after: checkpoint, limit: 1).first,
                oldest.recordedAt.adding(deliveryGrace) < now
            else { continue }
            drift("subscription.delivers", "Subscription/\(name)",
                  "\(behind) event(s) not handled, the oldest (position \(oldest.position)) recorded at \(oldest.recordedAt)")
        }
        for status in try await engine.subscriptionStatuses() where status.dead > 0 { report.deadLetters[status.name] = status.dead }
        return report
    }

    /// The checkpoints of the subscriptions and projections this Mall runs (a checkpoint
    /// left by one it no longer runs is nobody's lag).
    func runningCheckpointNames() async throws -> Set<String> {
        var names = Set(subscriptions().map(\.name))
        for projection in projections() {
            let state = try await engine.prepare(projection)
            names.insert(projection.schema.checkpointName(generation: state.serving.number))
        }
        return names
    }

    /// Events up to `head` not yet handled, per checkpoint of `names` (or of one of their
    /// partitions) that is behind.
    func lag(of names: Set<String>, behind head: Int64) async throws -> [String: Int64] {
        var lag: [String: Int64] = [:]
        for (name, checkpoint) in try await engine.store.checkpoints() where names.contains(Partitioning.subscription(ofCheckpoint: name)) {
            let behind = try await engine.store.eventsBehind(checkpoint, through: head)
            if behind > 0 { lag[name] = behind }
        }
        return lag
    }
}
