import Foundation
import MallPayment
import TestSupport
import Testing

/// End to end over HTTP against a real `mall serve` process.
@Suite struct PurchaseTests {
    @Test func aMemberBuysFromTheCartPaysAndTheOrderShips() async throws {
        let server = MallServerProcess()
        try await server.start()
        let client = MallClient(baseURL: server.baseURL)
        let admin = MallServerProcess.adminToken
        let ada = try await client.member("ada")
        #expect(try await client.send("PUT", "/admin/members/\(ada.id)/level", json: ["level": "gold"], token: admin).status == 200)

        // The listing is a projection of the seeded catalog's events: it may still be filling.
        try await eventually("the listing shows the seeded catalog") { try await client.send("GET", "/products")["total"] as? Int == 22 }
        let drinks = try await client.send("GET", "/products?category=drinks")
        #expect(drinks.status == 200)
        #expect((drinks["items"] as? [[String: Any]])?.count == 4)
        let search = try await client.send("GET", "/products?q=teapot")
        #expect((search["items"] as? [[String: Any]])?.map { $0["sku"] as? String } == ["teapot"])
        let cheapest = try await client.send("GET", "/products?sort=price")
        #expect(((cheapest["items"] as? [[String: Any]])?.first?["sku"]) as? String == "pencil-set")

        // Pricing learns of the level through an event: wait for the member price.
        try await eventually("gold: 10% off USD 55.00") {
            let book = try await client.send("GET", "/products/book-ddd", token: ada.token)
            return (book["yourPrice"] as? [String: Any])?["minorUnits"] as? Int == 4950
        }

        let coupon = try await client.send("POST", "/coupons", json: ["campaignId": "welcome"], token: ada.token)
        #expect(coupon.status == 201)
        let code = try #require(coupon.string("code"))
        #expect(try await client.send("PUT", "/cart/lines/teapot", json: ["quantity": 1], token: ada.token).status == 200)
        let cart = try await client.send("PUT", "/cart/lines/tea-jasmine", json: ["quantity": 2], token: ada.token)
        #expect((cart["lines"] as? [[String: Any]])?.count == 2)
        #expect(cart["quote"] is [String: Any])

        let body: [String: Any] = ["fromCart": true, "address": MallClient.address, "paymentMethod": "card", "delivery": "standard", "couponCode": code]
        let placed = try await client.send("POST", "/orders", json: body, token: ada.token, headers: ["Idempotency-Key": "checkout-1"])
        #expect(placed.status == 201)
        let orderID = try #require(placed.string("id"))
        let retried = try await client.send("POST", "/orders", json: body, token: ada.token, headers: ["Idempotency-Key": "checkout-1"])
        #expect(retried.status == 201 && retried.string("id") == orderID, "a retry returns the first order")

        // Server-side price: teapot 3500 − 350 gold; tea 2400 − 480 promo − 192 gold; coupon 500
        // shared 323/177; freight 700 (1240 g): 5078.
        #expect(((placed["quote"] as? [String: Any])?["total"] as? [String: Any])?["minorUnits"] as? Int == 5078)
        try await client.waitForOrder(orderID, token: ada.token, status: "awaitingPayment")
        let emptied = try await client.send("GET", "/cart", token: ada.token)
        #expect((emptied["lines"] as? [Any])?.isEmpty == true, "the cart empties once the order is submitted")

        let payment = try await client.send("POST", "/orders/\(orderID)/payments", token: ada.token)
        #expect(payment.status == 201)
        let again = try await client.send("POST", "/orders/\(orderID)/payments", token: ada.token)
        #expect(again.status == 200 && again.string("paymentId") == payment.string("paymentId"), "a repeat returns the open payment")
        let first = try await client.gatewayCallback(for: payment)
        let duplicate = try await client.gatewayCallback(for: payment)
        #expect(first.status == 200 && duplicate.status == 200)
        #expect(first.string("status") == "succeeded" && duplicate.string("status") == "succeeded")
        try await client.waitForOrder(orderID, token: ada.token, status: "paid")

        #expect(try await client.send("POST", "/admin/orders/\(orderID)/ship", token: admin).status == 200)
        #expect(try await client.send("POST", "/orders/\(orderID)/complete", token: ada.token).status == 200)
        let done = try await client.send("GET", "/orders/\(orderID)", token: ada.token)
        #expect((done["timeline"] as? [[String: Any]])?.map { $0["event"] as? String } == [
            "OrderSubmitted", "OrderAwaitingPayment", "OrderPaid", "OrderShipped", "OrderCompleted",
        ])
        try await eventually("the shipped teapot's stock is committed") {
            try await client.send("GET", "/admin/stock/teapot", token: admin)["reserved"] as? Int == 0
        }
        #expect(try await client.send("GET", "/admin/stock/teapot", token: admin)["onHand"] as? Int == 39)
        try await client.waitUntilCaughtUp()
        let orders = try await client.send("GET", "/orders", token: ada.token)
        #expect(orders.array.map { $0["id"] as? String } == [orderID])
        let subscriptions = try await client.send("GET", "/admin/subscriptions", token: admin)
        #expect(subscriptions.array.count == 11, "six subscriptions and five projections")
        await server.stop()

        // `mall trace`: the whole story of the order, from the file, indented by causation.
        let (status, trace) = try await server.runCommand(["trace", orderID])
        #expect(status == 0, "\(trace)")
        let lines = trace.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("order \(orderID): ") == true, "\(trace)")
        for (indent, line) in [("  ", "OrderSubmitted Order/\(orderID)"), ("    ", "StockReserved Reservation/\(orderID) ← inventory.reservations, attempt 1"),
                               ("  ", "OrderShipped Order/\(orderID)"), ("    ", "StockCommitted Reservation/\(orderID) ← inventory.reservations, attempt 1")] {
            #expect(lines.contains { $0.hasPrefix(indent + "#") && $0.contains(line) }, "\(line) in:\n\(trace)")
        }
        #expect(try await server.runCommand(["trace", "o-nosuch"]).status == 1)
    }

    @Test func anUnpaidOrderIsCancelledAtItsDeadlineWithStockAndCouponReturned() async throws {
        let server = MallServerProcess(paymentWindow: 1)
        try await server.start()
        let client = MallClient(baseURL: server.baseURL)
        let bob = try await client.member("bob")
        let code = try #require(try await client.send("POST", "/coupons", json: ["campaignId": "welcome"], token: bob.token).string("code"))
        let before = try #require(try await client.send("GET", "/products/stove-camp")["available"] as? Int)

        let placed = try await client.placeOrder(bob.token, [("stove-camp", 1)], coupon: code)
        #expect(placed.status == 201)
        let orderID = try #require(placed.string("id"))
        let cancelled = try await client.waitForOrder(orderID, token: bob.token, status: "cancelled")
        #expect((cancelled["cancellation"] as? [String: Any])?["reason"] as? String == "paymentDeadline")

        try await eventually("the stock and the coupon are returned") {
            let available = try await client.send("GET", "/products/stove-camp")["available"] as? Int
            let coupon = try await client.send("GET", "/coupons", token: bob.token).array.first { $0["code"] as? String == code }
            return available == before && coupon?["status"] as? String == "available"
        }

        // Paying now is refused (the order is cancelled)…
        let late = try await client.send("POST", "/orders/\(orderID)/payments", token: bob.token)
        #expect(late.status == 409)
        await server.stop()
    }

    @Test func aPaymentArrivingAfterCancellationIsRefunded() async throws {
        let server = MallServerProcess()
        try await server.start()
        let client = MallClient(baseURL: server.baseURL)
        let eve = try await client.member("eve")
        let orderID = try #require(try await client.placeOrder(eve.token, [("headlamp", 1)]).string("id"))
        try await client.waitForOrder(orderID, token: eve.token, status: "awaitingPayment")
        let payment = try await client.send("POST", "/orders/\(orderID)/payments", token: eve.token)
        #expect(try await client.send("POST", "/orders/\(orderID)/cancel", token: eve.token).status == 200)

        #expect(try await client.gatewayCallback(for: payment).status == 200)
        var events: [String] = []
        try await eventually("the late payment is rejected") {
            let order = try await client.send("GET", "/orders/\(orderID)", token: eve.token)
            events = (order["timeline"] as? [[String: Any]])?.compactMap { $0["event"] as? String } ?? []
            return events.last == "OrderPaymentRejected"
        }
        #expect(events == ["OrderSubmitted", "OrderAwaitingPayment", "OrderCancelled", "OrderPaymentRejected"])
        #expect(try await client.send("GET", "/orders/\(orderID)", token: eve.token).string("status") == "cancelled")
        await server.stop()
    }

    /// On PostgreSQL the orders go to two `mall serve` nodes on one database.
    @Test(arguments: Backend.available)
    func fiftyConcurrentOrdersForTenInStockGetExactlyTen(_ backend: Backend) async throws {
        let server = MallServerProcess(backend: backend)
        try await server.start()
        var nodes = [MallClient(baseURL: server.baseURL)]
        var second: MallServerProcess?
        if case .postgres = backend {
            second = MallServerProcess(sharing: server)
            try await second!.start()
            nodes.append(MallClient(baseURL: second!.baseURL))
        }
        let client = nodes[0]
        var buyers: [(id: String, token: String)] = []
        for index in 0..<50 { buyers.append(try await client.member("buyer\(index)")) }

        let placed = try await withThrowingTaskGroup(of: (String, String).self) { group in
            for (index, buyer) in buyers.enumerated() {
                let node = nodes[index % nodes.count]
                group.addTask {
                    let order = try await node.placeOrder(buyer.token, [("tent-2p", 1)])
                    return (try #require(order.string("id")), buyer.token)
                }
            }
            return try await group.reduce(into: [(String, String)]()) { $0.append($1) }
        }
        #expect(placed.count == 50)
        var statuses: [String: Int] = [:]
        for (id, token) in placed {
            var status = "submitted"
            try await eventually("order \(id) moves on") {
                status = try await client.send("GET", "/orders/\(id)", token: token).string("status") ?? "?"
                return status != "submitted"
            }
            statuses[status, default: 0] += 1
        }
        #expect(statuses == ["awaitingPayment": 10, "cancelled": 40])
        let stock = try await client.send("GET", "/admin/stock/tent-2p", token: MallServerProcess.adminToken)
        #expect(stock["available"] as? Int == 0 && stock["reserved"] as? Int == 10 && stock["onHand"] as? Int == 10)
        await second?.stop()
        await server.stop()
    }
}
