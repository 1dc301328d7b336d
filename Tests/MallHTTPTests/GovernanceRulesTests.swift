import Foundation
import Testing
import TestSupport

/// `/admin/rules`: the governance rules, changed while the shop runs, versioned with
/// their history, and in force on every node.
@Suite struct GovernanceRulesTests {
    static let admin = MallServerProcess.adminToken

    /// `rules` with the per-member order limit at one order, then one every 100 minutes.
    static func oneOrderPerMember(_ rules: [String: Any]) -> [String: Any] {
        var rules = rules
        rules["orders"] = ["perMinute": 0.01, "burst": 1]
        return rules
    }

    /// Changes the rules in force through `client` to one order per member; when it did.
    static func limitOneOrderPerMember(_ client: MallClient, reason: String) async throws -> Date {
        let current = try await client.send("GET", "/admin/rules", token: admin)
        let rules = try #require(current["rules"] as? [String: Any])
        let changed = try await client.send("PUT", "/admin/rules", json: [
            "version": current["version"] as? Int ?? -1, "rules": oneOrderPerMember(rules), "by": "test", "reason": reason,
        ], token: admin)
        try #require(changed.status == 200, "\(changed.json ?? "")")
        return Date()
    }

    @Test func aChangeIsVersionedWithItsHistoryAndABadRuleLeavesTheRulesInForce() async throws {
        try await InProcessMall.run(configure: { $0.maxUnpaidOrdersPerMember = 100 }) { client in
            let initial = try await client.send("GET", "/admin/rules", token: Self.admin)
            #expect(initial.status == 200)
            #expect(initial["version"] as? Int == 0, "the configuration's rules, never changed")
            let configured = try #require(initial["rules"] as? [String: Any])
            #expect((configured["failedLogins"] as? [String: Any])?["perMinute"] as? Double == 6)

            let changed = try await client.send("PUT", "/admin/rules", json: [
                "version": 0, "rules": Self.oneOrderPerMember(configured), "by": "ops@example.com", "reason": "bots at the flash sale",
            ], token: Self.admin)
            #expect(changed.status == 200)
            #expect(changed["version"] as? Int == 1)

            // In force at once on the node that took it.
            let member = try await client.member("shopper")
            #expect(try await client.placeOrder(member.token, [("cocoa", 1)]).status == 201)
            #expect(try await client.placeOrder(member.token, [("cocoa", 1)]).status == 429)

            // A change based on the old version is refused.
            let stale = try await client.send("PUT", "/admin/rules", json: [
                "version": 0, "rules": configured, "by": "someone else", "reason": "undo",
            ], token: Self.admin)
            #expect(stale.status == 409)
            #expect(stale.string("field") == "version")

            // A bad rule names its field; the rules in force stay.
            var bad = Self.oneOrderPerMember(configured)
            bad["registrations"] = ["perMinute": 10, "burst": 0]
            let refused = try await client.send("PUT", "/admin/rules", json: ["version": 1, "rules": bad, "by": "ops", "reason": "typo"], token: Self.admin)
            #expect(refused.status == 400)
            #expect(refused.string("field") == "rules.registrations.burst")
            let after = try await client.send("GET", "/admin/rules", token: Self.admin)
            #expect(after["version"] as? Int == 1)
            #expect(((after["rules"] as? [String: Any])?["orders"] as? [String: Any])?["burst"] as? Int == 1)

            let history = try await client.send("GET", "/admin/rules/history", token: Self.admin).array
            #expect(history.count == 1)
            #expect(history.first?["by"] as? String == "ops@example.com")
            #expect(history.first?["reason"] as? String == "bots at the flash sale")
            #expect(((history.first?["old"] as? [String: Any])?["orders"] as? [String: Any])?["burst"] as? Int == 20)
            #expect(((history.first?["new"] as? [String: Any])?["orders"] as? [String: Any])?["burst"] as? Int == 1)

            // Members cannot read or change the rules.
            #expect(try await client.send("GET", "/admin/rules", token: member.token).status == 403)
        }
    }

    /// On PostgreSQL a second node, which did not take the change, follows it (it reads the
    /// rules every second); on SQLite the one node.
    @Test(arguments: Backend.available)
    func aRuleChangedThroughOneNodeIsInForceOnEveryNode(_ backend: Backend) async throws {
        let first = MallServerProcess(backend: backend)
        try await first.start()
        defer { first.terminate() }
        let nodes = try await first.withPeer()
        defer { for node in nodes.dropFirst() { node.terminate() } }

        let changedAt = try await Self.limitOneOrderPerMember(MallClient(baseURL: first.baseURL), reason: "a rule for every node")

        for (index, node) in nodes.enumerated() {
            let client = MallClient(baseURL: node.baseURL)
            let member = try await client.member("node\(index)")
            try await eventually("node \(index) enforces the new limit") {
                _ = try await client.placeOrder(member.token, [("cocoa", 1)])
                return try await client.placeOrder(member.token, [("cocoa", 1)]).status == 429
            }
            print("governance rules: node \(index) in force \(String(format: "%.2f", Date().timeIntervalSince(changedAt))) s after the change")
        }
    }

    /// On PostgreSQL a change reaches another node by its announcement (NOTIFY), not by
    /// polling: the second node here polls once an hour, yet follows a rule change and a
    /// drill's start and stop within seconds.
    @Test(.enabled(if: !Backend.postgresSkipped, "HERALD_SKIP_POSTGRES=1"))
    func onPostgreSQLChangesReachANodeThatHardlyPollsByTheirAnnouncement() async throws {
        let first = MallServerProcess(backend: .postgres(url: Backend.postgresURL))
        try await first.start()
        defer { first.terminate() }
        let second = MallServerProcess(sharing: first)
        second.environment["MALL_FOLLOW_POLL_SECONDS"] = "3600"
        try await second.start()
        defer { second.terminate() }
        let admin = MallClient(baseURL: first.baseURL), client = MallClient(baseURL: second.baseURL)
        let member = try await client.member("listener")
        let order = try #require(try await client.placeOrder(member.token, [("cocoa", 1)]).string("id"))
        try await client.waitForOrder(order, token: member.token, status: "awaitingPayment")

        let changedAt = try await Self.limitOneOrderPerMember(admin, reason: "announced")
        try await eventually("the second node enforces the new limit", timeout: .seconds(20)) {
            try await client.placeOrder(member.token, [("cocoa", 1)]).status == 429
        }
        print("governance rules: announced change in force on the other node \(String(format: "%.2f", Date().timeIntervalSince(changedAt))) s after it")

        let started = try await admin.send("POST", "/admin/drills", json: ["kind": "gateway-down", "seconds": 600, "by": "test", "reason": "announced"], token: Self.admin)
        try #require(started.status == 201, "\(started.json ?? "")")
        try await eventually("the second node's gateway is down", timeout: .seconds(20)) {
            try await client.send("POST", "/orders/\(order)/payments", token: member.token).status == 503
        }
        #expect(try await admin.send("POST", "/admin/drills/stop", token: Self.admin).status == 200)
        try await eventually("the second node's gateway is back", timeout: .seconds(20)) {
            (200...201).contains(try await client.send("POST", "/orders/\(order)/payments", token: member.token).status)
        }
    }

    /// `mall rules` on the database of a running server (SQLite: the CLI is a second
    /// process on the file): the server follows the change; bad input is a message and a
    /// non-zero exit, and changes nothing.
    @Test func theCommandLineChangesTheRulesAndTheRunningServerFollows() async throws {
        let server = MallServerProcess()
        try await server.start()
        defer { server.terminate() }

        let unknown = try await server.runCommand(["rules", "set", "orders.bursts", "1", "--by", "ops", "--reason", "typo"])
        #expect(unknown.status != 0)
        #expect(unknown.output.contains("orders.bursts") && unknown.output.contains("orders.burst"), "\(unknown.output)")
        let outOfRange = try await server.runCommand(["rules", "set", "orders.burst", "0", "--by", "ops", "--reason", "typo"])
        #expect(outOfRange.status != 0)
        #expect(outOfRange.output.contains("rules.orders.burst"), "\(outOfRange.output)")
        #expect(try await server.runCommand(["rules", "get"]).output.contains("version 0"))

        let set = try await server.runCommand(["rules", "set", "orders.burst", "1", "--by", "ops@example.com", "--reason", "bots at the sale"])
        #expect(set.status == 0, "\(set.output)")
        // The command's own settings are the rules before the first change (the test
        // server's differ: its shoppers are allowed far more orders).
        #expect(set.output.contains("version 1: orders.burst 20 → 1"), "\(set.output)")
        let client = MallClient(baseURL: server.baseURL)
        let member = try await client.member("cli")
        try await eventually("the server enforces the rule the command set") {
            _ = try await client.placeOrder(member.token, [("cocoa", 1)])
            return try await client.placeOrder(member.token, [("cocoa", 1)]).status == 429
        }
        let history = try await server.runCommand(["rules", "history"])
        #expect(history.output.contains("version 1"), "\(history.output)")
        #expect(history.output.contains("by ops@example.com: bots at the sale"), "\(history.output)")
        #expect(history.output.contains("1 change(s)"), "\(history.output)")
    }

    /// The degradation switches: new orders paused (503) while everything after an order
    /// goes on; a text search answered with the plain listing, marked. Off again, all is back.
    @Test func theSwitchesPauseNewOrdersAndDegradeSearchWhileTheRestGoesOn() async throws {
        try await InProcessMall.run(configure: { $0.maxUnpaidOrdersPerMember = 100 }) { client in
            let member = try await client.member("ada")
            let placed = try await client.placeOrder(member.token, [("cocoa", 1)])
            let orderID = try #require(placed.string("id"))
            try await client.waitForOrder(orderID, token: member.token, status: "awaitingPayment")
            let everything = try #require(try await client.send("GET", "/products")["total"] as? Int)

            func switches(_ on: Bool, version: Int) async throws {
                try await Self.setSwitches(["newOrdersPaused", "searchDegraded"], on, version: version, client)
            }
            try await switches(true, version: 0)

            let refused = try await client.placeOrder(member.token, [("cocoa", 1)])
            #expect(refused.status == 503)
            #expect(refused.string("detail")?.contains("paused") == true)
            #expect(refused.headers["retry-after"] != nil)
            // What follows an order taken before goes on.
            #expect((200...201).contains(try await client.send("POST", "/orders/\(orderID)/payments", token: member.token).status))
            #expect(try await client.send("POST", "/orders/\(orderID)/cancel", token: member.token).status == 200)

            let degraded = try await client.send("GET", "/products?q=tea")
            #expect(degraded.status == 200)
            #expect(degraded.headers["mall-degraded"] == "search")
            #expect(degraded["total"] as? Int == everything, "the plain listing, not the search")

            try await switches(false, version: 1)
            #expect(try await client.placeOrder(member.token, [("cocoa", 1)]).status == 201)
            let searched = try await client.send("GET", "/products?q=tea")
            #expect(searched.headers["mall-degraded"] == nil)
            #expect((searched["total"] as? Int ?? 0) < everything)
        }
    }

    /// The promotions-off switch: a product's price, the cart's quote and a new order leave
    /// the promotions out, marked; off again, the promotion is back.
    @Test func promotionsOffPricesWithoutPromotionsMarkedAndComesBack() async throws {
        try await InProcessMall.run { client in
            let member = try await client.member("ada")
            func yourPrice() async throws -> (Int?, String?) {
                let product = try await client.send("GET", "/products/tea-jasmine", token: member.token)
                return ((product["yourPrice"] as? [String: Any])?["minorUnits"] as? Int, product.headers["mall-degraded"])
            }
            let (promoted, marked) = try await yourPrice()
            #expect(marked == nil)
            func promotionsOff(_ on: Bool, version: Int) async throws {
                try await Self.setSwitches(["promotionsOff"], on, version: version, client)
            }
            try await promotionsOff(true, version: 0)
            let (plain, degraded) = try await yourPrice()
            #expect(degraded == "promotions")
            #expect(try #require(plain) > (try #require(promoted)), "the 20% tea-week promotion is left out")
            let cart = try await client.send("PUT", "/cart/lines/tea-jasmine", json: ["quantity": 1], token: member.token)
            #expect(cart.headers["mall-degraded"] == "promotions")
            let lines = try #require((cart["quote"] as? [String: Any])?["lines"] as? [[String: Any]])
            let adjustments = lines.flatMap { $0["adjustments"] as? [[String: Any]] ?? [] }
            #expect(adjustments.allSatisfy { $0["kind"] as? String != "productPromotion" }, "\(adjustments)")
            let order = try await client.placeOrder(member.token, [("tea-jasmine", 1)])
            #expect(order.status == 201)
            #expect(order.headers["mall-degraded"] == "promotions")
            #expect(try await client.send("GET", "/rules-not-a-route").headers["mall-degraded"] == nil, "only responses with a quote are marked")

            try await promotionsOff(false, version: 1)
            let (back, unmarked) = try await yourPrice()
            #expect(back == promoted)
            #expect(unmarked == nil)
        }
    }

    /// The coupons-deferred switch: orders with a coupon are taken (marked) and wait as
    /// submitted with the coupon unredeemed, orders without one go on; off again, the
    /// coupons are redeemed in order: the first order using a coupon goes on, a second
    /// one using the same coupon meanwhile is cancelled. No attempt burnt, no dead letter.
    @Test func couponsDeferredTakesOrdersAndRedeemsTheirCouponsOnceItIsOff() async throws {
        try await InProcessMall.run(configure: { $0.maxUnpaidOrdersPerMember = 100 }) { client in
            let member = try await client.member("ada")
            let code = try #require(try await client.send("POST", "/coupons", json: ["campaignId": "welcome"], token: member.token).string("code"))
            func coupon() async throws -> String? {
                try await client.send("GET", "/coupons", token: member.token).array.first { $0["code"] as? String == code }?["status"] as? String
            }
            try await Self.setSwitches(["couponsDeferred"], true, version: 0, client)

            let first = try await client.placeOrder(member.token, [("teapot", 1)], coupon: code)
            #expect(first.status == 201)
            #expect(first.headers["mall-degraded"] == "coupons")
            let firstID = try #require(first.string("id"))
            let second = try await client.placeOrder(member.token, [("teapot", 1)], coupon: code)
            #expect(second.status == 201, "the coupon is not yet redeemed: it may be quoted again")
            let secondID = try #require(second.string("id"))
            let plain = try await client.placeOrder(member.token, [("cocoa", 1)])
            #expect(plain.headers["mall-degraded"] == nil, "an order without a coupon is not degraded")
            try await client.waitForOrder(try #require(plain.string("id")), token: member.token, status: "awaitingPayment")
            // Both coupon orders were submitted before the plain one, which went on; they wait.
            try await client.waitUntilCaughtUp(except: ["pricing.coupons"])
            #expect(try await client.send("GET", "/orders/\(firstID)", token: member.token).string("status") == "submitted")
            #expect(try await coupon() == "available")
            let coupons = try await client.send("GET", "/admin/subscriptions", token: Self.admin).array.first { $0["name"] as? String == "pricing.coupons" }
            #expect((coupons?["lag"] as? Int ?? 0) > 0, "the coupon subscription waits")
            #expect(coupons?["retrying"] as? Int == 0, "no attempt counted: \(coupons ?? [:])")

            try await Self.setSwitches(["couponsDeferred"], false, version: 1, client)
            try await client.waitForOrder(firstID, token: member.token, status: "awaitingPayment")
            let cancelled = try await client.waitForOrder(secondID, token: member.token, status: "cancelled")
            #expect((cancelled["cancellation"] as? [String: Any])?["reason"] as? String == "couponRejected")
            #expect(try await coupon() == "redeemed")
            #expect(try await client.send("GET", "/admin/dead-letters", token: Self.admin).array.isEmpty)
        }
    }

    /// Turns the named switches on or off through `PUT /admin/rules`, the rest as they are.
    static func setSwitches(_ names: [String], _ on: Bool, version: Int, _ client: MallClient) async throws {
        var rules = try #require(try await client.send("GET", "/admin/rules", token: admin)["rules"] as? [String: Any])
        for name in names { rules[name] = on }
        let changed = try await client.send("PUT", "/admin/rules", json: [
            "version": version, "rules": rules, "by": "ops", "reason": on ? "something must give" : "recovered",
        ], token: admin)
        try #require(changed.status == 200, "\(changed.json ?? "")")
    }
}
