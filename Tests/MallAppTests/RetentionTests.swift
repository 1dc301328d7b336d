import Foundation
import Herald
import MallApp
import MallOrdering
import Scheduling
import Testing

/// The retention job prunes what nothing needs: old events every subscription and projection
/// has read, of types no projection reads. What is left still rebuilds every projection to
/// the same rows, and the shop goes on.
@Suite struct RetentionTests {
    @Test func theRetentionJobPrunesOldHandledEventsAndKeepsWhatProjectionsNeed() async throws {
        let shop = try await TestMall()
        let ada = try await shop.member("ada")
        var orders: [Order] = []
        for sku in ["teapot", "cocoa", "headlamp"] {
            let order = try await shop.order(ada, [(sku, 1)])
            try await shop.settle()
            _ = try await shop.pay(order.id, ada)
            orders.append(order)
        }
        try await shop.settle()
        let before = try await Self.log(shop)
        let listedBefore = try await shop.mall.ordering.orders(memberID: ada).map(\.id)

        let scheduler = try shop.mall.jobScheduler()
        try await scheduler.runDue()  // first sight
        shop.clock.advance(by: .seconds(31 * 24 * 3600))
        let runs = try await scheduler.runDue()
        #expect(runs.first { $0.job == "retention" }?.outcome == .succeeded, "\(runs)")

        let after = try await Self.log(shop)
        let kept = Set(shop.mall.projections().flatMap { $0.eventTypes ?? [] })
        let pruned = before.filter { event in !after.contains { $0.eventID == event.eventID } }
        #expect(!pruned.isEmpty, "old handled events were pruned")
        #expect(pruned.allSatisfy { !kept.contains($0.eventType) }, "none a projection reads: \(Set(pruned.map(\.eventType)).intersection(kept))")
        #expect(after.contains { $0.eventID == before.last?.eventID }, "the newest event stays")

        // Projections rebuilt from what is left answer as before; the shop goes on.
        for projection in shop.mall.projections() { try await shop.mall.engine.rebuild(projection) }
        #expect(try await shop.mall.ordering.orders(memberID: ada).map(\.id) == listedBefore)
        let next = try await shop.order(ada, [("teapot", 1)])
        try await shop.settle()
        #expect(try await shop.status(next.id).status == .awaitingPayment)
        #expect(try await shop.mall.reconcile().drifts == [])
    }

    static func log(_ shop: TestMall) async throws -> [EventEnvelope] {
        var events: [EventEnvelope] = []
        try await shop.mall.engine.store.scanLog { events += $0 }
        return events
    }
}
