import Foundation
import Herald
@_spi(Operations) import MallApplication
import MallOperations
import Testing
import TestSupport

/// `GET /admin/orders/{id}/timeline`: what happened to one order, across contexts, in
/// causation order, with who handled each event, on which attempt, and what is stuck.
@Suite struct TimelineTests {
    /// The timeline's entries as "EventType ← subscription" (or "EventType" for one no
    /// handler recorded), indented by depth.
    static func outline(_ entries: [[String: Any]]) -> [String] {
        entries.map { entry in
            let depth = entry["depth"] as? Int ?? 0, type = entry["eventType"] as? String ?? "?"
            let by = (entry["recordedBy"] as? [String: Any])?["subscription"] as? String
            return String(repeating: "  ", count: depth) + type + (by.map { " ← \($0)" } ?? "")
        }
    }

    static func timeline(_ client: MallClient, _ orderID: String) async throws -> HTTPResult {
        let timeline = try await client.send("GET", "/admin/orders/\(orderID)/timeline", token: MallServerProcess.adminToken)
        try #require(timeline.status == 200, "\(timeline.json ?? "")")
        return timeline
    }

    @Test func aPaidOrdersTimelineShowsEveryContextInCausationOrder() async throws {
        try await InProcessMall.run { client, _ in
            let member = try await client.member("ada")
            let code = try #require(try await client.send("POST", "/coupons", json: ["campaignId": "welcome"], token: member.token).string("code"))
            let placed = try await client.placeOrder(member.token, [("teapot", 1)], coupon: code)
            let id = try #require(placed.string("id"))
            try await client.waitForOrder(id, token: member.token, status: "awaitingPayment")
            let started = try await client.send("POST", "/orders/\(id)/payments", token: member.token)
            #expect(try await client.gatewayCallback(for: started).status == 200)
            try await client.waitForOrder(id, token: member.token, status: "paid")
            try await client.waitUntilCaughtUp()

            let timeline = try await Self.timeline(client, id)
            #expect(timeline.string("orderId") == id)
            #expect(timeline["truncated"] as? Bool == false)
            let outline = Self.outline(try #require(timeline["entries"] as? [[String: Any]]))
            // Under the submission, what each context did about it; the payment its own chain.
            for expected in ["OrderSubmitted", "  StockReserved ← inventory.reservations", "  CouponRedeemed ← pricing.coupons",
                             "PaymentRequested", "PaymentSucceeded", "  OrderPaid ← ordering.process"] {
                #expect(outline.contains(expected), "\(expected) in \(outline)")
            }
            #expect(outline.contains { $0.hasSuffix("OrderAwaitingPayment ← ordering.process") && $0.hasPrefix("    ") }, "\(outline)")
            let entries = try #require(timeline["entries"] as? [[String: Any]])
            let submitted = try #require(entries.first { $0["eventType"] as? String == "OrderSubmitted" })
            let handlers = Set((submitted["handledBy"] as? [[String: Any]] ?? []).compactMap { $0["subscription"] as? String })
            // cart.checkout records nothing for an order placed without a cart: its handling
            // is known from this node's spans.
            #expect(handlers.isSuperset(of: ["inventory.reservations", "pricing.coupons", "cart.checkout"]), "\(handlers)")
            #expect(entries.allSatisfy { ($0["problems"] as? [Any])?.isEmpty == true })
            #expect(entries.first?["eventType"] as? String == "OrderSubmitted", "the order's first event starts it")

            let unknown = try await client.send("GET", "/admin/orders/o-nosuch/timeline", token: MallServerProcess.adminToken)
            #expect(unknown.status == 404 && unknown.contentType == "application/problem+json")
            #expect(try await client.send("GET", "/admin/orders/\(id)/timeline", token: member.token).status == 403)
        }
    }

    @Test func aCancelledOrdersTimelineShowsTheDeadlineAndWhatWasGivenBack() async throws {
        try await InProcessMall.run(configure: { $0.paymentWindow = .milliseconds(300) }) { client, _ in
            let member = try await client.member("ada")
            let code = try #require(try await client.send("POST", "/coupons", json: ["campaignId": "welcome"], token: member.token).string("code"))
            let id = try #require(try await client.placeOrder(member.token, [("teapot", 1)], coupon: code).string("id"))
            try await client.waitForOrder(id, token: member.token, status: "cancelled")
            try await client.waitUntilCaughtUp()
            let outline = Self.outline(try #require(try await Self.timeline(client, id)["entries"] as? [[String: Any]]))
            // The deadline was scheduled by the saga's handler, and so says who recorded it.
            for expected in ["PaymentDeadlineReached ← ordering.process", "OrderCancelled ← ordering.process", "StockReleased ← inventory.reservations", "CouponReturned ← pricing.coupons"] {
                #expect(outline.contains { $0.hasSuffix(expected) }, "\(expected) in \(outline)")
            }
            let deadline = try #require(outline.firstIndex { $0.hasSuffix("PaymentDeadlineReached ← ordering.process") })
            let cancelled = try #require(outline.firstIndex { $0.hasSuffix("OrderCancelled ← ordering.process") })
            #expect(deadline < cancelled, "the cancellation under the deadline that caused it")
        }
    }

    @Test func anOrderRecoveredFromADeadLetterShowsTheFailureThenTheRecovery() async throws {
        let quick = try RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(10), maxDelay: .milliseconds(20))
        try await InProcessMall.run(retryPolicy: quick) { client, mall in
            let member = try await client.member("ada")
            // The teapot's stock document is damaged: reserving it fails until it is mended.
            let mend = try await mall.engine.store.damage(StreamID(type: "Stock", id: "teapot"))

            let id = try #require(try await client.placeOrder(member.token, [("teapot", 1)]).string("id"))
            var entries: [[String: Any]] = []
            try await eventually("the reservation is a dead letter on the timeline") {
                entries = try await Self.timeline(client, id)["entries"] as? [[String: Any]] ?? []
                let problems = entries.first { $0["eventType"] as? String == "OrderSubmitted" }?["problems"] as? [[String: Any]] ?? []
                return problems.contains { $0["subscription"] as? String == "inventory.reservations" && $0["status"] as? String == "dead" }
            }
            let problem = try #require((entries.first?["problems"] as? [[String: Any]])?.first { $0["subscription"] as? String == "inventory.reservations" })
            #expect((problem["attempts"] as? Int ?? 0) >= 1)
            #expect((problem["lastError"] as? String)?.contains("Stock/teapot") == true, "\(problem)")

            try await mend()
            #expect(try await client.send("POST", "/admin/dead-letters/replay", json: ["subscription": "inventory.reservations"], token: MallServerProcess.adminToken).status == 200)
            try await client.waitForOrder(id, token: member.token, status: "awaitingPayment")
            try await client.waitUntilCaughtUp()

            entries = try await Self.timeline(client, id)["entries"] as? [[String: Any]] ?? []
            #expect(entries.allSatisfy { ($0["problems"] as? [Any])?.isEmpty == true }, "nothing stuck any more")
            let reserved = try #require(entries.first { $0["eventType"] as? String == "StockReserved" }, "\(Self.outline(entries))")
            let by = try #require(reserved["recordedBy"] as? [String: Any])
            #expect(by["subscription"] as? String == "inventory.reservations")
            #expect(by["attempt"] as? Int == 1, "the first attempt of the replay")
            #expect(by["failingSince"] as? String != nil, "recovered: it had been failing")
        }
    }
}
