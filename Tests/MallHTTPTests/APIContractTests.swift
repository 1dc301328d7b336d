import Foundation
import MallHTTP
import Testing

/// Authorization, bad input and the problem+json contract, in process (HummingbirdTesting
/// against the real router, a real SQLite file and the Herald service running).
@Suite struct APIContractTests {
    func expectProblem(_ result: HTTPResult, _ status: Int, field: String? = nil, _ comment: Comment? = nil) {
        #expect(result.status == status, comment)
        #expect(result.contentType == "application/problem+json", comment)
        #expect(result["status"] as? Int == status, comment)
        #expect(result.string("type")?.hasPrefix("https://mall.example/problems/") == true, comment)
        #expect(result.string("detail") != nil, comment)
        if let field { #expect(result.string("field") == field, comment) }
    }

    @Test func memberRoutesNeedAValidToken() async throws {
        try await InProcessMall.run { client in
            let missing = try await client.send("GET", "/cart")
            expectProblem(missing, 401)
            #expect(missing.headers["www-authenticate"] == "Bearer")
            expectProblem(try await client.send("GET", "/orders", token: "forged-token"), 401)
            expectProblem(try await client.send("POST", "/sessions", json: ["email": "nobody@example.com", "password": "whatever1"]), 401)
        }
    }

    @Test func adminRoutesNeedTheAdminToken() async throws {
        try await InProcessMall.run { client in
            let member = try await client.member("mallory")
            expectProblem(try await client.send("GET", "/admin/subscriptions"), 401)
            expectProblem(try await client.send("GET", "/admin/subscriptions", token: member.token), 403)
            expectProblem(try await client.send("GET", "/admin/dead-letters", token: "wrong-admin-token-xxxxxxxx"), 403)
            #expect(try await client.send("GET", "/admin/dead-letters", token: MallServerProcess.adminToken).status == 200)
        }
    }

    @Test func membersSeeOnlyTheirOwnOrders() async throws {
        try await InProcessMall.run { client in
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
    }

    @Test func badInputIsAProblemNamingTheField() async throws {
        try await InProcessMall.run { client in
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
            // maxLength counts Unicode scalars, as JSON Schema does: 101 letters with a
            // combining accent each are 202 scalars (but 101 characters to Swift).
            expectProblem(try await client.send("GET", "/products?q=" + String(repeating: "e%CC%81", count: 101)), 400, field: "q")
            expectProblem(try await client.send("GET", "/no/such/route"), 404)
            // Nothing above created an order.
            try await client.waitUntilCaughtUp()
            #expect(try await client.send("GET", "/orders", token: token).array.isEmpty)
        }
    }

    @Test func theOrderLimitsAre409ProblemsNamingTheLimit() async throws {
        try await InProcessMall.run { client in
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
    }

    @Test func oversizedBodiesAreRefusedWith413() async throws {
        try await InProcessMall.run { client in
            let member = try await client.member("big")
            let huge = Data(("{\"quantity\": 1, \"padding\": \"" + String(repeating: "x", count: 100_000) + "\"}").utf8)
            expectProblem(try await client.send("PUT", "/cart/lines/cocoa", raw: huge, token: member.token), 413)
        }
    }

    @Test func aRetriedOrderGetsTheFirstResponseAgainByteForByte() async throws {
        try await InProcessMall.run { client in
            let member = try await client.member("retry")
            let first = try await client.placeOrder(member.token, [("cocoa", 1)], key: "retry-1")
            let orderID = try #require(first.string("id"))
            try await client.waitForOrder(orderID, token: member.token, status: "awaitingPayment")  // the order moved on meanwhile
            let retry = try await client.placeOrder(member.token, [("cocoa", 1)], key: "retry-1")
            #expect(first.status == 201 && retry.status == 201)
            #expect(retry.body == first.body, "the same status and body as the first response")
            #expect(retry.headers["idempotent-replayed"] == "true")
            #expect(first.headers["idempotent-replayed"] == nil)
            try await client.waitUntilCaughtUp()
            #expect(try await client.send("GET", "/orders", token: member.token).array.count == 1, "nothing new created")
        }
    }

    @Test func aReusedIdempotencyKeyWithADifferentBodyIsAConflict() async throws {
        try await InProcessMall.run { client in
            let member = try await client.member("retry")
            let first = try await client.placeOrder(member.token, [("cocoa", 1)], key: "same-key")
            #expect(first.status == 201)
            expectProblem(try await client.placeOrder(member.token, [("cocoa", 2)], key: "same-key"), 409, field: "Idempotency-Key")
            try await client.waitUntilCaughtUp()
            #expect(try await client.send("GET", "/orders", token: member.token).array.count == 1)
        }
    }

    @Test func healthAndOpenAPIAreServed() async throws {
        try await InProcessMall.run { client in
            #expect(try await client.send("GET", "/health/live").status == 200)
            #expect(try await client.send("GET", "/health/ready").status == 200)
            let document = try await client.send("GET", "/openapi.yaml")
            #expect(document.status == 200 && document.contentType == "application/yaml")
            #expect(String(decoding: document.body, as: UTF8.self) == OpenAPIDocument.yaml)
            #expect(OpenAPIDocument.yaml.hasPrefix("openapi: 3.1"))
        }
    }
}
