import Foundation
import Herald
@_spi(Operations) import MallApplication
import MallOperations
import MallOrdering
import MallOrderingEvents
import MallPaymentEvents
import Scheduling
import Testing

/// The payment-deadline sweeper, the backstop to deadline messages: it cancels what a lost
/// message left, never a paid order, and with the message cancels each order once.
@Suite struct DeadlineSweeperTests {
    /// The shop's jobs on this node; the first tick only records when they start from.
    func sweeper(_ shop: TestMall) async throws -> JobScheduler {
        let scheduler = try shop.mall.jobScheduler()
        try await scheduler.runDue()
        return scheduler
    }

    /// Orders awaiting payment, their deadline messages lost (a bug, a restore from backup).
    func ordersWithLostDeadlines(_ shop: TestMall, count: Int, member: String) async throws -> [String] {
        var ids: [String] = []
        for _ in 0..<count { ids.append(try await shop.order(member, [("cocoa", 1)]).id) }
        try await shop.settle()
        try await shop.mall.engine.perform { work in
            for id in ids { work.cancelScheduledMessage(key: Order.deadlineKey(id)) }
        }
        return ids
    }

    @Test func ordersWhoseDeadlineMessageWasLostAreCancelledWithTheirStockReturned() async throws {
        let shop = try await TestMall()
        let ada = try await shop.member()
        let before = try await shop.mall.inventory.stock(sku: "cocoa")
        let ids = try await ordersWithLostDeadlines(shop, count: 6, member: ada)
        let scheduler = try await sweeper(shop)

        shop.clock.advance(by: .seconds(900 + 30))  // past the deadline, within the grace
        try await shop.settle()
        try await scheduler.runDue()
        #expect(try await shop.status(ids[0]).status == .awaitingPayment, "the message has the grace to act first")

        shop.clock.advance(by: .seconds(60))
        let runs = try await scheduler.runDue().filter { $0.job == "payment-deadlines" }
        #expect(runs.count == 4 && runs.allSatisfy { $0.outcome == .succeeded }, "\(runs)")
        for id in ids { #expect(try await shop.status(id).status == .cancelled) }
        try await shop.expectNoDrift()
        #expect(try await shop.mall.inventory.stock(sku: "cocoa") == before, "the stock is back")
        let history = try await scheduler.history("payment-deadlines")
        #expect(history.count == 8, "two sweeps of four items each")
        #expect(history.allSatisfy { $0.outcome == .succeeded })
        #expect(history.filter { $0.trigger == .misfire }.count == 4, "the first found fire times 15 minutes old: run once for them")
    }

    /// The seed's incident: a payment that commits while the sweeper runs wins. Payments
    /// and the sweep race over twenty overdue orders; no order ends paid and cancelled, and
    /// every payment taken is applied or refunded.
    @Test func aPaymentRacingTheSweeperWinsOrIsRefundedNeverBoth() async throws {
        let shop = try await TestMall()
        let ada = try await shop.member()
        let ids = try await ordersWithLostDeadlines(shop, count: 20, member: ada)
        let scheduler = try await sweeper(shop)
        var payments: [String] = []
        for id in ids { payments.append(try await shop.mall.startPayment(orderID: id, memberID: ada).payment.id) }
        shop.clock.advance(by: .seconds(900 + 61))

        async let paid: Void = {
            for id in ids {
                let payment = try await shop.mall.payments.payment(id: payments[ids.firstIndex(of: id)!])
                try await shop.callback(payment)
            }
            try await shop.settle()
        }()
        async let swept = scheduler.runDue()
        _ = try await (paid, swept)
        try await shop.settle()

        var outcomes: [Order.Status: Int] = [:]
        for id in ids { outcomes[try await shop.status(id).status, default: 0] += 1 }
        #expect(outcomes.keys.allSatisfy { $0 == .paid || $0 == .cancelled }, "\(outcomes)")
        let refunds = try await shop.events(of: RefundRequested.eventType).count
        #expect(refunds == outcomes[.cancelled, default: 0], "each cancelled order's payment refunded: \(outcomes)")
        print("deadline sweeper race: \(outcomes)")
        try await shop.expectNoDrift()
    }

    /// The deadline message and the sweeper both act on an overdue order: one cancellation.
    @Test(arguments: [true, false])
    func theMessageAndTheSweeperCancelAnOrderOnce(messageFirst: Bool) async throws {
        let shop = try await TestMall()
        let ada = try await shop.member()
        var ids: [String] = []
        for _ in 0..<5 { ids.append(try await shop.order(ada, [("cocoa", 1)]).id) }
        try await shop.settle()
        let scheduler = try await sweeper(shop)
        shop.clock.advance(by: .seconds(900 + 61))
        if messageFirst {
            try await shop.settle(skipping: ["unpaid_orders"])  // the sweeper still sees the rows
            try await scheduler.runDue()
        } else {
            try await scheduler.runDue()
            try await shop.settle()
        }
        try await shop.settle()
        let cancellations = try await shop.events(of: OrderCancelled.eventType).compactMap { try? JSONDecoder().decode(OrderCancelled.self, from: $0.payload) }
        #expect(cancellations.count == 5)
        #expect(Set(cancellations.map(\.orderID)) == Set(ids))
        try await shop.expectNoDrift()
    }
}
