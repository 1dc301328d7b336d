import Foundation
import Herald
@_spi(Operations) import MallApplication
import MallOperations
import MallKernel
import MallMembers
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

    @Test func theRetentionJobDeletesExpiredSessionsAndForgetsOldIdempotencyKeys() async throws {
        let shop = try await TestMall()
        let ada = try await shop.member("ada")
        let email = try await shop.mall.members.member(id: ada).email
        let early = try await shop.mall.members.logIn(email: email, password: "correct horse")
        let first = try await shop.order(ada, [("teapot", 1)], key: "k-early")
        let scheduler = try shop.mall.jobScheduler()
        try await scheduler.runDue()  // first sight

        shop.clock.advance(by: .seconds(20 * 24 * 3600))
        let late = try await shop.mall.members.logIn(email: email, password: "correct horse")
        let second = try await shop.order(ada, [("cocoa", 1)], key: "k-late")
        shop.clock.advance(by: .seconds(11 * 24 * 3600))  // 31 days after the first: past the session's life and the retention age
        let runs = try await scheduler.runDue()
        #expect(runs.first { $0.job == "retention" }?.outcome == .succeeded, "\(runs)")

        #expect(try await shop.mall.members.pruneExpiredSessions() == 0, "the job deleted the expired session")
        await #expect(throws: MemberProblem.sessionInvalid) { try await shop.mall.members.memberID(forToken: early) }
        #expect(try await shop.mall.members.memberID(forToken: late) == ada, "a live session stays")

        let retried = try await shop.mall.placeOrder(memberID: ada, Self.request("cocoa"), idempotency: TestMall.idempotency("k-late", [("cocoa", 1)]))
        #expect(!retried.created && retried.order.id == second.id, "a recent key still returns its order")
        let reused = try await shop.mall.placeOrder(memberID: ada, Self.request("teapot"), idempotency: TestMall.idempotency("k-early", [("teapot", 1)]))
        #expect(reused.created && reused.order.id != first.id, "a key older than the retention age makes a new order")
    }

    static func request(_ sku: String) -> PlaceOrder {
        PlaceOrder(lines: [StockLine(sku: sku, quantity: 1)], address: TestMall.address, paymentMethod: "card", couponCode: nil)
    }

    static func log(_ shop: TestMall) async throws -> [EventEnvelope] {
        var events: [EventEnvelope] = []
        try await shop.mall.engine.store.scanLog { events += $0 }
        return events
    }
}
