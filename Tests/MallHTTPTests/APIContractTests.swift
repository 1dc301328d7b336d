import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Authorization, bad input and the problem+json contract, against a real server.
@Suite struct APIContractTests {
    /// Each test gets its own server (a process shared by static state would outlive the
    /// test run). The server lives as long as the returned object.
    func server() async throws -> (MallServerProcess, MallClient) {
        let server = MallServerProcess()
        try await server.start()
        return (server, MallClient(baseURL: server.baseURL))
    }

    func expectProblem(_ result: HTTPResult, _ status: Int, field: String? = nil, _ comment: Comment? = nil) {
        #expect(result.status == status, comment)
        #expect(result.contentType == "application/problem+json", comment)
        #expect(result["status"] as? Int == status, comment)
        #expect(result.string("type")?.hasPrefix("https://mall.example/problems/") == true, comment)
        #expect(result.string("detail") != nil, comment)
        if let field { #expect(result.string("field") == field, comment) }
    }

    @Test func memberRoutesNeedAValidToken() async throws {
        let (server, client) = try await server()
        defer { server.stop() }
        let missing = try await client.send("GET", "/cart")
        expectProblem(missing, 401)
        #expect(missing.headers["www-authenticate"] == "Bearer")
        expectProblem(try await client.send("GET", "/orders", token: "forged-token"), 401)
        expectProblem(try await client.send("POST", "/sessions", json: ["email": "nobody@example.com", "password": "whatever1"]), 401)
    }

    @Test func adminRoutesNeedTheAdminToken() async throws {
        let (server, client) = try await server()
        defer { server.stop() }
        let member = try await client.member("mallory")
        expectProblem(try await client.send("GET", "/admin/subscriptions"), 401)
        expectProblem(try await client.send("GET", "/admin/subscriptions", token: member.token), 403)
        expectProblem(try await client.send("GET", "/admin/dead-letters", token: "wrong-admin-token-xxxxxxxx"), 403)
        #expect(try await client.send("GET", "/admin/dead-letters", token: MallServerProcess.adminToken).status == 200)
    }

    @Test func membersSeeOnlyTheirOwnOrders() async throws {
        let (server, client) = try await server()
        defer { server.stop() }
        let ada = try await client.member("ada")
        let bob = try await client.member("bob")
        let orderID = try #require(try await client.placeOrder(ada.token, [("cocoa", 1)]).string("id"))
        expectProblem(try await client.send("GET", "/orders/\(orderID)", token: bob.token), 404)
        expectProblem(try await client.send("POST", "/orders/\(orderID)/cancel", token: bob.token), 404)
        expectProblem(try await client.send("POST", "/orders/\(orderID)/payments", token: bob.token), 404)
        try await client.waitUntilCaughtUp()  // the order history is a projection
        #expect(try await client.send("GET", "/orders", token: bob.token).array.isEmpty)
        #expect(try await client.send("GET", "/orders/\(orderID)", token: ada.token).status == 200)
    }

    @Test func badInputIsAProblemNamingTheField() async throws {
        let (server, client) = try await server()
        defer { server.stop() }
        let member = try await client.member("fuzz")
        let token = member.token
        let malformed = try await client.send("POST", "/orders", raw: Data("{\"lines\": [".utf8), token: token)
        expectProblem(malformed, 400, field: "body")
        expectProblem(try await client.send("POST", "/members", json: ["email": "x@example.com", "name": "X"]), 400, field: "password")
        expectProblem(try await client.send("POST", "/members", json: ["email": "not-an-address", "password": "12345678", "name": "X"]), 400, field: "email")
        expectProblem(try await client.send("PUT", "/cart/lines/cocoa", json: ["quantity": "two"], token: token), 400, field: "quantity")
        expectProblem(try await client.send("PUT", "/cart/lines/cocoa", json: ["quantity": -1], token: token), 400, field: "quantity")
        expectProblem(try await client.send("PUT", "/cart/lines/cocoa", raw: Data("{\"quantity\": 100000000000000000000000}".utf8), token: token), 400, field: "quantity")
        expectProblem(try await client.send("PUT", "/cart/lines/no-such-sku", json: ["quantity": 1], token: token), 404, field: "sku")

        expectProblem(try await client.placeOrder(token, [("cocoa", 0)]), 400, field: "quantity")
        expectProblem(try await client.placeOrder(token, [("cocoa", 1_000_000)]), 400, field: "quantity")
        expectProblem(try await client.placeOrder(token, [("no-such-sku", 1)]), 422, field: "sku")
        expectProblem(try await client.placeOrder(token, []), 400, field: "lines")
        expectProblem(try await client.placeOrder(token, [("cocoa", 1)], coupon: "C-NOTMINE"), 422, field: "couponCode")
        var wrongType: [String: Any] = ["lines": [["sku": "cocoa", "quantity": 1]], "address": MallClient.address, "paymentMethod": "card", "delivery": "teleport"]
        expectProblem(try await client.send("POST", "/orders", json: wrongType, token: token), 400, field: "delivery")
        wrongType["delivery"] = "standard"
        wrongType["lines"] = [["sku": "cocoa"]]
        expectProblem(try await client.send("POST", "/orders", json: wrongType, token: token), 400, field: "lines[0].quantity")
        wrongType["lines"] = [["sku": "cocoa", "quantity": 1]]
        wrongType["address"] = ["name": "", "phone": "1", "line1": "x", "city": "y", "postcode": "z"]
        expectProblem(try await client.send("POST", "/orders", json: wrongType, token: token), 400, field: "address.name")
        expectProblem(try await client.send("POST", "/payment-gateway/callbacks", json: ["paymentId": "pay-x", "outcome": "succeeded", "signature": "00"]), 400, field: "amount")
        expectProblem(try await client.send("POST", "/payment-gateway/callbacks", json: [
            "paymentId": "pay-x", "outcome": "succeeded", "amount": ["minorUnits": 100, "currency": "USD"], "timestamp": 0, "signature": "00",
        ]), 401, field: "signature")
        expectProblem(try await client.send("GET", "/products?page=0"), 400, field: "page")
        expectProblem(try await client.send("GET", "/products?sort=newest"), 400, field: "sort")
        expectProblem(try await client.send("GET", "/products?q=" + String(repeating: "a", count: 201)), 400, field: "q")
        expectProblem(try await client.send("GET", "/no/such/route"), 404)
        // Nothing above created an order.
        try await client.waitUntilCaughtUp()
        #expect(try await client.send("GET", "/orders", token: token).array.isEmpty)
    }

    @Test func theOrderLimitsAre409ProblemsNamingTheLimit() async throws {
        let (server, client) = try await server()
        defer { server.stop() }
        let member = try await client.member("hoarder")
        let tooMany = try await client.placeOrder(member.token, [("cocoa", 21)])
        expectProblem(tooMany, 409, field: "quantity")
        #expect(tooMany.string("detail")?.contains("at most 20 per order") == true, "\(tooMany.json ?? "")")
        expectProblem(try await client.send("PUT", "/cart/lines/cocoa", json: ["quantity": 21], token: member.token), 409, field: "quantity")
        for _ in 0..<5 { #expect(try await client.placeOrder(member.token, [("cocoa", 1)]).status == 201) }
        let sixth = try await client.placeOrder(member.token, [("cocoa", 1)])
        expectProblem(sixth, 409)
        #expect(sixth.string("detail")?.contains("at most 5 orders may await payment") == true, "\(sixth.json ?? "")")
        try await client.waitUntilCaughtUp()
        #expect(try await client.send("GET", "/orders", token: member.token).array.count == 5)
    }

    @Test func oversizedBodiesAreRefusedWith413() async throws {
        let (server, client) = try await server()
        defer { server.stop() }
        let member = try await client.member("big")
        let huge = Data(("{\"quantity\": 1, \"padding\": \"" + String(repeating: "x", count: 100_000) + "\"}").utf8)
        expectProblem(try await client.send("PUT", "/cart/lines/cocoa", raw: huge, token: member.token), 413)
    }

    @Test func aRetriedOrderGetsTheFirstResponseAgainByteForByte() async throws {
        let (server, client) = try await server()
        defer { server.stop() }
        let member = try await client.member("retry")
        var request = URLRequest(url: URL(string: client.baseURL.absoluteString + "/orders")!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(member.token)", forHTTPHeaderField: "Authorization")
        request.setValue("retry-1", forHTTPHeaderField: "Idempotency-Key")
        request.httpBody = try JSONSerialization.data(withJSONObject: [
            "lines": [["sku": "cocoa", "quantity": 1]], "address": MallClient.address, "paymentMethod": "card", "delivery": "standard",
        ])
        let (firstBody, first) = try await URLSession.shared.data(for: request)
        let orderID = try #require((try JSONSerialization.jsonObject(with: firstBody) as? [String: Any])?["id"] as? String)
        try await client.waitForOrder(orderID, token: member.token, status: "awaitingPayment")  // the order moved on meanwhile
        let (retryBody, retry) = try await URLSession.shared.data(for: request)
        #expect((first as? HTTPURLResponse)?.statusCode == 201 && (retry as? HTTPURLResponse)?.statusCode == 201)
        #expect(retryBody == firstBody, "the same status and body as the first response")
        #expect((retry as? HTTPURLResponse)?.value(forHTTPHeaderField: "Idempotent-Replayed") == "true")
        #expect((first as? HTTPURLResponse)?.value(forHTTPHeaderField: "Idempotent-Replayed") == nil)
        try await client.waitUntilCaughtUp()
        #expect(try await client.send("GET", "/orders", token: member.token).array.count == 1, "nothing new created")
    }

    @Test func aReusedIdempotencyKeyWithADifferentBodyIsAConflict() async throws {
        let (server, client) = try await server()
        defer { server.stop() }
        let member = try await client.member("retry")
        let first = try await client.placeOrder(member.token, [("cocoa", 1)], key: "same-key")
        #expect(first.status == 201)
        expectProblem(try await client.placeOrder(member.token, [("cocoa", 2)], key: "same-key"), 409, field: "Idempotency-Key")
        try await client.waitUntilCaughtUp()
        #expect(try await client.send("GET", "/orders", token: member.token).array.count == 1)
    }

    @Test func healthAndOpenAPIAreServed() async throws {
        let (server, client) = try await server()
        defer { server.stop() }
        #expect(try await client.send("GET", "/health/live").status == 200)
        #expect(try await client.send("GET", "/health/ready").status == 200)
        var request = URLRequest(url: URL(string: client.baseURL.absoluteString + "/openapi.yaml")!)
        request.httpMethod = "GET"
        let (data, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: data, as: UTF8.self).hasPrefix("openapi: 3.1"))
    }
}
