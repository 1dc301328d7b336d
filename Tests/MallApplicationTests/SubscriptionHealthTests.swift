import Foundation
import Herald
@_spi(Operations) import MallApplication
import MallOperations
import MallKernel
import MallOrderingEvents
import Scheduling
import Testing

/// The subscription-health job: healthy, its runs succeed; a dead letter fails the next run
/// with the subscription named, until the dead letter is dealt with.
@Suite struct SubscriptionHealthTests {
    @Test func aDeadLetterFailsTheHealthRunNamingItsSubscription() async throws {
        let shop = try await TestMall()
        let scheduler = try shop.mall.jobScheduler()
        try await scheduler.runDue()  // first sight
        func check() async throws -> JobRunRecord? {
            shop.clock.advance(by: .seconds(30))
            return try await scheduler.runDue().first { $0.job == "subscription-health" }
        }
        #expect(try await check()?.outcome == .succeeded)

        // An order whose lines list one SKU twice: Inventory refuses it, for good.
        let submitted = OrderSubmitted(
            orderID: "o-forged", memberID: "m-nobody", lines: [StockLine(sku: "cocoa", quantity: 1), StockLine(sku: "cocoa", quantity: 1)],
            couponCode: nil, total: Money(minorUnits: 100, currency: "USD"), fromCart: false)
        var forged = Changeset(recordedAt: shop.clock.now())
        forged.events = [NewEvent(
            eventID: UUID(), stream: StreamID(type: "Order", id: "o-forged"), eventType: OrderSubmitted.eventType, schemaVersion: 1,
            payload: try JSONEncoder().encode(submitted), occurredAt: shop.clock.now())]
        _ = try await shop.mall.engine.store.commit(forged)
        for _ in 0..<5 {
            try await shop.settle()
            shop.clock.advance(by: .milliseconds(10))  // the quick retry policy's back-off
        }
        let dead = try await shop.mall.engine.deadLetters.list()
        try #require(dead.count == 1, "\(dead)")

        let failed = try #require(try await check())
        #expect(failed.outcome == .failed)
        #expect(failed.error?.contains("inventory") == true && failed.error?.contains("1 dead letter") == true, "\(failed.error ?? "")")
        #expect(try await scheduler.status().first { $0.name == "subscription-health" }?.lastRun?.outcome == .failed)

        let discarded = try await shop.mall.engine.deadLetters.discard(.all)
        let left = try await shop.mall.engine.deadLetters.list()
        #expect(discarded == 1, "\(discarded) \(left)")
        let healthy = try await check()
        #expect(healthy?.outcome == .succeeded, "healthy again once the dead letter is dealt with: \(healthy?.error ?? "")")
    }
}
