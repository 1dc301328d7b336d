@_spi(Operations) import MallApplication
import Foundation
import Herald
import MallInventory
import MallOrdering
import MallPayment
import MallPricing

/// What ``Mall/reconcileAndRepair(submittedGrace:settleTimeout:refunds:)`` did with one drift.
public struct RepairOutcome: Codable, Hashable, Sendable, CustomStringConvertible {
    public enum Result: String, Codable, Hashable, Sendable {
        /// The remedy ran and changed something (its events say what).
        case repaired
        /// Nothing to do any more: the saga or an operator fixed it meanwhile.
        case resolved
        /// Left alone, for the reason in `note`.
        case skipped
    }

    public var drift: Drift
    public var result: Result
    public var note: String

    public var description: String { "\(result.rawValue.uppercased()) \(drift.rule) \(drift.subject): \(note)" }
}

public struct RepairReport: Codable, Hashable, Sendable {
    /// What the first look found.
    public var found: ReconciliationReport
    public var outcomes: [RepairOutcome] = []
    /// The drift found that this run did not repair (skipped, or with no safe remedy). A
    /// repaired order moves on once the saga has handled the repair's events: the next run
    /// sees whether it did.
    public var remaining: [Drift] = []
}

extension Mall {
    /// Reconciles (``reconcile(submittedGrace:deliveryGrace:)``), then repairs what is safe
    /// through the contexts' own commands, each leaving events: a cancelled order's held
    /// stock is released and its coupon given back, a stuck order's next step is taken again
    /// (its stock reserved, its coupon settled), and money neither applied to its order nor
    /// refunded is refunded through the gateway with an event saying why. Anything else
    /// (money taken for a cancelled order, stock counts that disagree, an order whose own
    /// state is damaged) is reported and left to an operator.
    ///
    /// A drift may be work in flight: an event not yet handled. So before repairing it waits,
    /// up to `settleTimeout`, until every subscription and projection has handled the log up
    /// to where it stood after the first look (three times, for the events those handlers
    /// themselves commit), and it leaves alone a subject with an event waiting in a
    /// subscription's retries or dead letters (replaying or discarding it is an operator's
    /// call). Each remedy checks its condition again in its own transaction, and each is
    /// idempotent: run twice, or beside the saga, it changes nothing twice.
    ///
    /// - Parameter refunds: whether ``gateway`` is the real one money can be refunded
    ///   through; when not, refunds are skipped, saying so.
    public func reconcileAndRepair(
        submittedGrace: Duration = .seconds(300), settleTimeout: Duration = .seconds(60), refunds: Bool = true
    ) async throws -> RepairReport {
        var report = RepairReport(found: try await reconcile(submittedGrace: submittedGrace))
        let candidates = report.found.drifts.filter { $0.remedy != nil }
        report.remaining = report.found.drifts
        guard !candidates.isEmpty else { return report }

        if let behind = try await waitUntilHandled(timeout: settleTimeout) {
            report.outcomes = candidates.map {
                RepairOutcome(drift: $0, result: .skipped, note: "postponed: \(behind) had not handled the log within \(settleTimeout) (is mall serve running?)")
            }
            return report
        }
        let parked = try await engine.store.parkedEvents(subscription: nil)
        for drift in candidates {
            guard let remedy = drift.remedy else { continue }
            if let waiting = parked.first(where: { Self.streams(touchedBy: remedy).contains($0.stream) }) {
                report.outcomes.append(RepairOutcome(
                    drift: drift, result: .skipped,
                    note: "\(waiting.eventType) of \(waiting.stream) is \(waiting.status.rawValue) in \(waiting.subscription): replay or discard it first"))
                continue
            }
            do {
                let (result, note) = try await apply(remedy, refunds: refunds)
                report.outcomes.append(RepairOutcome(drift: drift, result: result, note: note))
            } catch {
                report.outcomes.append(RepairOutcome(drift: drift, result: .skipped, note: "failed: \(error)"))
            }
        }
        let fixed = Set(report.outcomes.filter { $0.result != .skipped }.map(\.drift))
        report.remaining = report.found.drifts.filter { !fixed.contains($0) }
        engine.logger.notice(
            "reconciliation repaired drift",
            metadata: [
                "found": "\(report.found.drifts.count)", "repaired": "\(report.outcomes.count { $0.result == .repaired })",
                "remaining": "\(report.remaining.count)",
            ])
        return report
    }

    /// Waits until every subscription and projection has handled the log up to its head,
    /// three times over (what they commit while handling is new log). Polls the stored
    /// checkpoints every 50 ms of real time: they move in other processes too.
    ///
    /// - Returns: `nil` once they have, or the name of one still behind at `timeout`.
    func waitUntilHandled(timeout: Duration) async throws -> String? {
        let deadline = ContinuousClock.now + timeout
        let names = try await runningCheckpointNames()
        for _ in 0..<3 {
            let head = try await engine.store.headPosition()
            while let behind = try await lag(of: names, behind: head).keys.sorted().first {
                guard ContinuousClock.now < deadline else { return behind }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        return nil
    }

    /// The streams whose waiting events would make a remedy premature.
    static func streams(touchedBy remedy: Remedy) -> Set<StreamID> {
        switch remedy {
        case .releaseReservation(let orderID), .redriveOrder(let orderID):
            [StreamID(type: Order.streamType, id: orderID), StreamID(type: Reservation.streamType, id: orderID)]
        case .returnCoupon(let memberID, let orderID):
            [StreamID(type: Order.streamType, id: orderID), StreamID(type: CouponWallet.streamType, id: memberID)]
        case .refund(let paymentID, let orderID):
            [StreamID(type: Order.streamType, id: orderID), StreamID(type: Payment.streamType, id: paymentID)]
        }
    }

    /// Runs one remedy after checking, on fresh data, that it is still needed.
    private func apply(_ remedy: Remedy, refunds: Bool) async throws -> (RepairOutcome.Result, String) {
        let work = engine.unitOfWork()
        switch remedy {
        case .releaseReservation(let orderID):
            guard let order = try await work.load(Order.self, id: orderID), order.status == .cancelled, order.paymentID == nil else {
                return (.resolved, "the order is no longer cancelled without payment")
            }
            return try await inventory.release(orderID: orderID)
                ? (.repaired, "released the stock cancelled order \(orderID) held")
                : (.resolved, "it holds no stock any more")

        case .returnCoupon(let memberID, let orderID):
            guard try await work.load(Order.self, id: orderID)?.status == .cancelled else { return (.resolved, "the order is no longer cancelled") }
            return try await pricing.giveBack(memberID: memberID, orderID: orderID)
                ? (.repaired, "gave back the coupon cancelled order \(orderID) held")
                : (.resolved, "it holds no coupon any more")

        case .redriveOrder(let orderID):
            guard let order = try await work.load(Order.self, id: orderID), order.status == .submitted else {
                return (.resolved, "the order moved on")
            }
            var steps: [String] = []
            if try await work.load(Reservation.self, id: orderID) == nil {
                let reservation = try await inventory.reserve(orderID: orderID, lines: order.lines).reservation
                steps.append("reserved its stock (\(reservation.status.rawValue))")
            }
            if !order.couponSettled, let code = order.quote.couponCode,
                try await work.load(CouponWallet.self, id: order.memberID)?.coupon(code)?.orderID != orderID
            {
                try await pricing.redeem(code: code, memberID: order.memberID, orderID: orderID)
                steps.append("settled coupon \(code)")
            }
            guard !steps.isEmpty else {
                return (.skipped, "its stock and coupon were settled, yet the order never heard: its own state is damaged; an operator must look")
            }
            return (.repaired, steps.joined(separator: ", "))

        case .refund(let paymentID, let orderID):
            guard let payment = try await work.load(Payment.self, id: paymentID), payment.status == .succeeded,
                try await work.load(Order.self, id: orderID)?.paymentID != paymentID
            else { return (.resolved, "the payment was applied or refunded meanwhile") }
            guard refunds else { return (.skipped, "refunds go through the payment gateway: give --gateway-url") }
            let reason = "reconciliation: succeeded, but neither applied to order \(orderID) nor refunded"
            return try await payments.refund(paymentID: paymentID, reason: reason, gateway: gateway)
                ? (.repaired, "refunded \(payment.amount) through the gateway")
                : (.resolved, "the payment was refunded meanwhile")
        }
    }
}
