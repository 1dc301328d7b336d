import Foundation
import MallPayment
import TestSupport
import Testing

/// The payment gateway as its own process: `mall gateway serve`, and `mall serve
/// --gateway-url` pointed at it. Payments reach it, its signed callbacks pay or decline
/// orders, and with it down starting a payment answers 503 with `Retry-After` at once.
@Suite(.serialized) struct PaymentGatewayProcessTests {
    /// `mall gateway serve` on a free port, its ledger in a temporary file.
    final class GatewayProcess {
        let process = Process()
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("mall-gateway-\(UUID().uuidString.prefix(8)).log").path
        let statePath = FileManager.default.temporaryDirectory.appendingPathComponent("mall-gateway-\(UUID().uuidString.prefix(8)).json").path
        private(set) var url: URL!

        func start(callbackURL: String, arguments: [String] = []) async throws {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            process.executableURL = try MallServerProcess.executable()
            process.arguments = [
                "gateway", "serve", "--port", "0", "--callback-url", callbackURL, "--secret", MallServerProcess.gatewaySecret, "--state", statePath,
                "--callback-delay-ms", "0",
            ] + arguments
            var environment = ProcessInfo.processInfo.environment
            environment["MALL_GATEWAY_API_KEY"] = MallServerProcess.gatewayAPIKey
            process.environment = environment
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            process.standardOutput = log
            process.standardError = log
            try process.run()
            try await eventually("the gateway reports its port") {
                let output = (try? String(contentsOfFile: self.logPath, encoding: .utf8)) ?? ""
                guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("payment gateway listening on ") }) else { return false }
                self.url = URL(string: String(line.dropFirst("payment gateway listening on ".count).prefix { $0 != "," }))
                return true
            }
        }

        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            try? FileManager.default.removeItem(atPath: statePath)
        }

        /// A client of its API, with the merchant's API key.
        var client: MallClient { MallClient(baseURL: url, bearer: MallServerProcess.gatewayAPIKey) }
    }

    /// The port `mall serve` will take: reserved by binding it, then freed for the server.
    static func freePort() throws -> Int {
        let socket = tcpSocket()
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                try #require(bind(socket, raw, length) == 0)
                try #require(getsockname(socket, raw, &length) == 0)
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func tcpSocket() -> Int32 { socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0) }

    @Test func paymentsGoThroughTheGatewayProcessAndItsCallbacksSettleThem() async throws {
        let port = try Self.freePort()
        let gateway = GatewayProcess()
        try await gateway.start(callbackURL: "http://127.0.0.1:\(port)/payment-gateway/callbacks")
        defer { gateway.stop() }
        let server = MallServerProcess(arguments: ["--gateway-url", gateway.url.absoluteString])
        try await server.start(port: port)
        defer { server.terminate() }
        let client = MallClient(baseURL: server.baseURL)
        let (_, token) = try await client.member("ada")

        // Paid: the gateway takes the payment and calls back "succeeded".
        let first = try await client.placeOrder(token, [("cocoa", 1)])
        let firstID = try #require(first.string("id"))
        try await client.waitForOrder(firstID, token: token, status: "awaitingPayment")
        let started = try await client.send("POST", "/orders/\(firstID)/payments", token: token)
        #expect(started.status == 201)
        try await client.waitForOrder(firstID, token: token, status: "paid")
        let held = try await gateway.client.send("GET", "/v1/intents/\(try #require(started.string("paymentId")))")
        #expect(held.string("status") == "succeeded")

        // Down: starting a payment answers 503 with Retry-After, and the order keeps waiting.
        #expect(try await gateway.client.send("PUT", "/v1/knobs", json: ["outage": true]).status == 200)
        let second = try #require(try await client.placeOrder(token, [("cocoa", 1)]).string("id"))
        try await client.waitForOrder(second, token: token, status: "awaitingPayment")
        // Until the breaker opens: it judges 10 calls within 10 s, and on a loaded machine 12
        // refusals have taken longer than that.
        var status: HTTPResult
        var refusals = 0
        repeat {
            let refused = try await client.send("POST", "/orders/\(second)/payments", token: token)
            #expect(refused.status == 503)
            #expect(refused.headers["retry-after"] != nil)
            #expect(refused.contentType == "application/problem+json")
            refusals += 1
            status = try await client.send("GET", "/admin/gateway", token: MallServerProcess.adminToken)
        } while status.string("breaker") != "open" && refusals < 100
        #expect(try await client.send("GET", "/orders/\(second)", token: token).string("status") == "awaitingPayment")
        #expect(status.string("breaker") == "open", "\(status.json ?? "")")
        let metrics = String(decoding: try await client.send("GET", "/metrics", token: MallServerProcess.adminToken).body, as: UTF8.self)
        #expect(MetricsTests.sample(metrics, "mall_circuit_breaker_state", ["breaker": "payment-gateway", "state": "open"]) == 1)
        #expect(MetricsTests.sample(metrics, "mall_circuit_breaker_state", ["breaker": "payment-gateway", "state": "closed"]) == 0)
        #expect(status.string("url") == gateway.url.absoluteString)
        #expect((status["settings"] as? [String: Any])?["timeoutSeconds"] as? Double == 2)

        // Declining, and back: the payment fails, the order still awaits a payment that works.
        #expect(try await gateway.client.send("PUT", "/v1/knobs", json: ["outage": false, "declineRate": 1]).status == 200)
        var declined: HTTPResult?
        try await eventually("the breaker lets a probe through", timeout: .seconds(30)) {
            declined = try await client.send("POST", "/orders/\(second)/payments", token: token)
            return declined?.status == 201 || declined?.status == 200
        }
        let declinedID = try #require(declined?.string("paymentId"))
        try await eventually("the declined callback arrives") {
            try await gateway.client.send("GET", "/v1/intents/\(declinedID)").string("status") == "failed"
        }
        #expect(try await gateway.client.send("PUT", "/v1/knobs", json: ["declineRate": 0]).status == 200)
        try await eventually("the failed payment is recorded") {
            let again = try await client.send("POST", "/orders/\(second)/payments", token: token)
            return again.status == 201 && again.string("paymentId") != declinedID
        }
        try await client.waitForOrder(second, token: token, status: "paid")

        // Bad knobs are refused with the knob named.
        let bad = try await gateway.client.send("PUT", "/v1/knobs", json: ["failureRate": 2])
        #expect(bad.status == 400)
        #expect(bad.string("error")?.contains("failureRate") == true)
    }

    /// A gateway that takes the call and does not answer in time leaves the outcome unknown:
    /// the start is answered 202 with the payment pending and where its outcome will show,
    /// never 503 "nothing charged"; a retry returns the same payment (no second charge), and
    /// the gateway's callback settles it.
    @Test func aGatewayThatDoesNotAnswerInTimeLeavesThePaymentPendingNotRefused() async throws {
        let port = try Self.freePort()
        let gateway = GatewayProcess()
        try await gateway.start(callbackURL: "http://127.0.0.1:\(port)/payment-gateway/callbacks", arguments: ["--latency-ms", "2500"])
        defer { gateway.stop() }
        let server = MallServerProcess(arguments: ["--gateway-url", gateway.url.absoluteString])
        server.environment["MALL_GATEWAY_TIMEOUT_SECONDS"] = "1"
        try await server.start(port: port)
        defer { server.terminate() }
        let client = MallClient(baseURL: server.baseURL)
        let (_, token) = try await client.member("ada")
        let order = try #require(try await client.placeOrder(token, [("cocoa", 1)]).string("id"))
        try await client.waitForOrder(order, token: token, status: "awaitingPayment")

        var payments: Set<String> = []
        for attempt in 0..<2 {
            let started = try await client.send("POST", "/orders/\(order)/payments", token: token)
            #expect(started.status == 202, "attempt \(attempt): in doubt, not refused: \(started.status) \(started.json ?? "")")
            #expect(started.string("status") == "pending")
            #expect(started.string("detail")?.contains("not known yet") == true)
            #expect(started.headers["location"] == "/orders/\(order)")
            #expect(Int(started.headers["retry-after"] ?? "") ?? 0 >= 1)
            payments.insert(try #require(started.string("paymentId")))
        }
        #expect(payments.count == 1, "the retry returned the same payment: \(payments)")
        #expect(try await gateway.client.send("PUT", "/v1/knobs", json: ["latencyMs": 0]).status == 200)
        // The gateway took the calls it did not answer in time: its callback pays the order. Until
        // then a retry (the shopper's) gets the same payment, whatever the gateway answers.
        try await eventually("the order is paid") {
            if try await client.send("GET", "/orders/\(order)", token: token).string("status") == "paid" { return true }
            let again = try await client.send("POST", "/orders/\(order)/payments", token: token)
            if again.status != 409 {  // 409: paid meanwhile
                #expect([200, 202].contains(again.status), "\(again.json ?? "")")
                #expect(again.string("paymentId") == payments.first, "the same payment, never a second")
            }
            return false
        }
        let log = try await server.runCommand(["events", "--stream-types", "Payment"])
        #expect(log.output.split(separator: "\n").count { $0.contains(" PaymentRequested ") } == 1, "one payment was ever requested: \(log.output)")
        let metrics = String(decoding: try await client.send("GET", "/metrics", token: MallServerProcess.adminToken).body, as: UTF8.self)
        #expect(MetricsTests.sample(metrics, "mall_payment_starts_total", ["result": "in_doubt"]) ?? 0 >= 2)
        #expect(MetricsTests.sample(metrics, "mall_payment_starts_total", ["result": "unavailable"]) == nil, "nobody was told 'not charged'")
    }

    /// The gateway's API answers only the merchant's key: without it nobody who reaches the
    /// port can create a payment (and have a "succeeded" callback signed for it) or turn its knobs.
    @Test func theGatewaysAPIRefusesCallsWithoutTheMerchantsKey() async throws {
        let gateway = GatewayProcess()
        try await gateway.start(callbackURL: "http://127.0.0.1:9/payment-gateway/callbacks", arguments: ["--no-callbacks"])
        defer { gateway.stop() }
        let stranger = MallClient(baseURL: gateway.url)
        let charge: [String: Any] = ["paymentId": "pay-forged", "amount": ["minorUnits": 100, "currency": "USD"]]
        for (method, path, body) in [("POST", "/v1/intents", charge), ("POST", "/v1/refunds", charge), ("PUT", "/v1/knobs", ["outage": true])] as [(String, String, Any?)] {
            #expect(try await stranger.send(method, path, json: body).status == 401, "\(method) \(path) without a key")
            #expect(try await stranger.send(method, path, json: body, token: "not-the-merchants-key-000").status == 401, "\(method) \(path), another key")
        }
        #expect(try await stranger.send("GET", "/v1/intents/pay-forged").status == 401)
        #expect(try await gateway.client.send("GET", "/v1/intents/pay-forged").status == 404, "nothing was created")
        #expect(try await gateway.client.send("GET", "/v1/knobs").json.flatMap { ($0 as? [String: Any])?["outage"] as? Bool } == false)
        #expect(try await stranger.send("GET", "/health").status == 200)

        // And `mall gateway serve` will not start without a key.
        let keyless = Process()
        keyless.executableURL = try MallServerProcess.executable()
        keyless.arguments = ["gateway", "serve", "--port", "0", "--secret", MallServerProcess.gatewaySecret]
        var environment = ProcessInfo.processInfo.environment
        environment["MALL_GATEWAY_API_KEY"] = nil
        keyless.environment = environment
        let output = try await keyless.runCapturingOutput()
        #expect(keyless.terminationStatus != 0)
        #expect(output.contains("--api-key-file"), "\(output)")
    }
}
