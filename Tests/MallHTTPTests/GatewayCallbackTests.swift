import Foundation
import MallPayment
import Testing

/// The payment gateway's callbacks over HTTP: nobody without the install's secret can
/// settle a payment, and `mall gateway sign` signs as the gateway would.
@Suite struct GatewayCallbackTests {
    @Test func forgedStaleOrMismatchedCallbacksAre401ProblemsAndChangeNothing() async throws {
        let server = MallServerProcess()
        try await server.start()
        defer { server.terminate() }
        let client = MallClient(baseURL: server.baseURL)
        let ada = try await client.member("ada")
        let orderID = try #require(try await client.placeOrder(ada.token, [("cocoa", 1)]).string("id"))
        try await client.waitForOrder(orderID, token: ada.token, status: "awaitingPayment")
        let started = try await client.send("POST", "/orders/\(orderID)/payments", token: ada.token)

        func expect401(_ result: HTTPResult, field: String, _ comment: Comment) {
            #expect(result.status == 401, comment)
            #expect(result.contentType == "application/problem+json", comment)
            #expect(result.string("field") == field, comment)
        }
        expect401(try await client.gatewayCallback(for: started, secret: "mall-demo-gateway-secret"), field: "signature", "the old built-in secret")
        // Well outside the 300 s window: a signature 301 s ahead, checked more than a second
        // later on a busy machine, was inside it again (and the callback was taken).
        expect401(try await client.gatewayCallback(for: started, at: Date().addingTimeInterval(-400)), field: "timestamp", "stale")
        expect401(try await client.gatewayCallback(for: started, at: Date().addingTimeInterval(400)), field: "timestamp", "from the future")
        var cheaper = started
        cheaper.json = ["paymentId": try #require(started.string("paymentId")), "amount": ["minorUnits": 1, "currency": "USD"]]
        expect401(try await client.gatewayCallback(for: cheaper), field: "amount", "another amount")

        let order = try await client.send("GET", "/orders/\(orderID)", token: ada.token)
        #expect(order.string("status") == "awaitingPayment", "nothing changed")
        #expect(try await client.gatewayCallback(for: started).status == 200, "the genuine callback is taken")
        try await client.waitForOrder(orderID, token: ada.token, status: "paid")
    }

    @Test func aFreshInstallGeneratesItsSecretAndMallGatewaySignUsesIt() async throws {
        let server = MallServerProcess(gatewaySecret: nil)
        try await server.start()
        let client = MallClient(baseURL: server.baseURL)
        let printed = try #require(
            server.log.split(separator: "\n").first { $0.hasPrefix("payment gateway secret (printed once") }, "the secret is printed on first start")
        let secret = String(try #require(printed.split(separator: " ").last))
        #expect(secret.count == 64 && secret.allSatisfy(\.isHexDigit))

        let ada = try await client.member("ada")
        let orderID = try #require(try await client.placeOrder(ada.token, [("cocoa", 1)]).string("id"))
        try await client.waitForOrder(orderID, token: ada.token, status: "awaitingPayment")
        let started = try await client.send("POST", "/orders/\(orderID)/payments", token: ada.token)
        let paymentID = try #require(started.string("paymentId"))

        let signed = try await server.runCommand(["gateway", "sign", "--payment", paymentID, "--outcome", "succeeded"])
        #expect(signed.status == 0, "\(signed.output)")
        let body = try #require(signed.output.split(separator: "\n").last.map(String.init))
        #expect(body.hasPrefix(#"{"paymentId":""#), "keys in declaration order: \(body)")
        let accepted = try await client.send("POST", "/payment-gateway/callbacks", raw: Data(body.utf8))
        #expect(accepted.status == 200, "\(accepted.json ?? "")")
        try await client.waitForOrder(orderID, token: ada.token, status: "paid")

        let unknown = try await server.runCommand(["gateway", "sign", "--payment", "pay-nope", "--outcome", "succeeded"])
        #expect(unknown.status != 0 && unknown.output.contains("no payment pay-nope"), "\(unknown.output)")

        await server.stop()
        try await server.start()
        #expect(!server.log.contains("payment gateway secret"), "printed once, on the first start only")
        await server.stop()
    }

    /// Forged callbacks (the route has no token: the signature is its authentication) are
    /// limited per address: a wave of them gets no more than the limit's burst checked, and
    /// the rest 429 before any signature is computed.
    @Test func aWaveOfForgedCallbacksFromOneAddressIsRefusedPastTheBurst() async throws {
        let server = MallServerProcess()
        try await server.start()
        defer { server.terminate() }
        let forged = RawHTTP.Request(
            method: "POST", path: "/payment-gateway/callbacks",
            body: #"{"paymentId":"pay-forged","outcome":"succeeded","amount":{"minorUnits":100,"currency":"USD"},"timestamp":1,"signature":"00"}"#)
        let answers = try RawHTTP.atOnce(port: try #require(server.baseURL.port), Array(repeating: forged, count: 160))
        let checked = answers.count { $0.status == 401 }, refused = answers.count { $0.status == 429 }
        print("160 forged callbacks at once: \(checked) checked (401), \(refused) refused (429)")
        #expect(checked + refused == 160, "\(answers.map(\.status))")
        #expect(checked <= 110, "about the burst of 100 were checked (a token a second comes back), not \(checked)")
        #expect(refused >= 50)
    }
}
