@_spi(Operations) import MallApplication
import Foundation
import Herald
import Logging
import MallOrdering
import Scheduling

extension Mall {
    /// Mall's recurring jobs, which every `mall serve` node runs its share of.
    ///
    /// - `payment-deadlines`: the backstop to the payment-deadline messages. Every
    ///   ``MallConfiguration/deadlineSweepSchedule`` it cancels, by the same rule, the orders
    ///   still awaiting payment ``MallConfiguration/deadlineSweepGrace`` after their deadline
    ///   (the message should have done it: each one it finds is logged). Its
    ///   ``MallConfiguration/deadlineSweepItems`` items each sweep their share of
    ///   ``UnpaidOrders``' buckets.
    ///
    /// - `subscription-health`: every ``MallConfiguration/subscriptionHealthSchedule`` it
    ///   checks every subscription and projection; one with dead letters, or more than
    ///   ``MallConfiguration/subscriptionLagLimit`` events behind, fails the run
    ///   (``SubscriptionsUnhealthy``): a warning in the log, `failed` with the reason in the
    ///   job's history and in `mall jobs list`.
    ///
    /// - `reconciliation`: every ``MallConfiguration/reconcileSchedule`` it checks every rule
    ///   and repairs what is safe (``reconcileAndRepair(submittedGrace:settleTimeout:refunds:)``);
    ///   drift it could not repair fails the run (``DriftRemains``), naming it.
    ///
    /// - `retention`: every ``MallConfiguration/retentionSchedule`` it deletes events older
    ///   than ``MallConfiguration/retention`` that nothing needs any more
    ///   (``HeraldEngine/pruneLog(recordedBefore:projections:batchSize:)``: every
    ///   subscription and projection has read past them, none waits in retries or dead
    ///   letters, and no projection reads their type), the inbox entries of deleted events,
    ///   expired sessions, and idempotency records older than the same age (a retry after
    ///   that long is a new order). Each job's run history is bounded as it is written
    ///   (``JobRetention``).
    public func jobs() throws -> [Job] {
        let mall = self, ordering = self.ordering, engine = self.engine, logger = engine.logger, grace = configuration.deadlineSweepGrace
        let lagLimit = configuration.subscriptionLagLimit
        return [
            try Job(
                name: "payment-deadlines", schedule: configuration.deadlineSweepSchedule, items: configuration.deadlineSweepItems, timeout: .seconds(300), misfire: .runOnce
            ) { run in
                let buckets = UnpaidOrders.buckets(item: run.item, of: run.itemCount)
                var cancelled = 0
                while true {
                    let overdue = try await ordering.overdueOrders(buckets: buckets, grace: grace, limit: 500)
                    var progressed = false
                    for id in overdue where try await ordering.cancelIfPastDeadline(id: id, grace: grace) {
                        cancelled += 1
                        progressed = true
                    }
                    // A page of orders whose projection row trails (paid, not yet removed) moves nothing: stop.
                    if overdue.count < 500 || !progressed { break }
                }
                if cancelled > 0 {
                    logger.warning(
                        "payment-deadline sweeper cancelled orders their deadline message had not",
                        metadata: ["cancelled": "\(cancelled)", "item": "\(run.item)"])
                }
            },
            try Job(name: "subscription-health", schedule: configuration.subscriptionHealthSchedule, items: 1, timeout: .seconds(60), misfire: .skip) { _ in
                let unhealthy = try await engine.subscriptionStatuses().filter { $0.dead > 0 || $0.lag > lagLimit }
                guard unhealthy.isEmpty else { throw SubscriptionsUnhealthy(statuses: unhealthy, lagLimit: lagLimit) }
            },
            try Job(name: "reconciliation", schedule: configuration.reconcileSchedule, items: 1, timeout: .seconds(1800), misfire: .runOnce) { _ in
                let report = try await mall.reconcileAndRepair(settleTimeout: mall.configuration.reconcileSettleTimeout)
                guard report.remaining.isEmpty else { throw DriftRemains(drifts: report.remaining) }
            },
            try Job(name: "retention", schedule: configuration.retentionSchedule, items: 1, timeout: .seconds(1800), misfire: .runOnce) { [retention = configuration.retention] _ in
                let cutoff = engine.clock.now().addingTimeInterval(-retention.timeInterval)
                let pruned = try await engine.pruneLog(recordedBefore: cutoff, projections: mall.projections())
                let sessions = try await mall.members.pruneExpiredSessions() + mall.pruneConsoleSessions()
                let idempotencyRecords = try await ordering.pruneIdempotencyRecords(writtenBefore: cutoff)
                logger.info("retention pruned the log, expired sessions and old idempotency records", metadata: [
                    "events": "\(pruned.events)", "inboxEntries": "\(pruned.inboxEntries)", "keptFrom": "\(pruned.keptFrom)",
                    "sessions": "\(sessions)", "idempotencyRecords": "\(idempotencyRecords)",
                ])
            },
        ]
    }

    /// The scheduler running ``jobs()`` on this node.
    public func jobScheduler() throws -> JobScheduler {
        try JobScheduler(engine: engine, jobs: try jobs())
    }
}

/// Subscriptions or projections with dead letters, or too far behind the log.
public struct SubscriptionsUnhealthy: Error, CustomStringConvertible {
    public var statuses: [SubscriptionStatus]
    public var lagLimit: Int64

    public var description: String {
        statuses.map { status in
            var troubles: [String] = []
            if status.dead > 0 { troubles.append("\(status.dead) dead letter(s)") }
            if status.lag > lagLimit { troubles.append("\(status.lag) events behind (limit \(lagLimit))") }
            return "\(status.name): " + troubles.joined(separator: ", ")
        }.joined(separator: "; ")
    }
}

/// Drift reconciliation found and could not repair.
public struct DriftRemains: Error, CustomStringConvertible {
    public var drifts: [Drift]

    public var description: String {
        "\(drifts.count) drift(s) left for an operator: " + drifts.prefix(5).map(\.description).joined(separator: "; ")
            + (drifts.count > 5 ? "; …" : "")
    }
}
