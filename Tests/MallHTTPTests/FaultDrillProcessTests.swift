import Foundation
import Herald
import Synchronization
import TestSupport
import Testing

/// The shop's promise under fault drills, on a real `mall serve` with its fake gateway in
/// process sending callbacks: shoppers order and pay throughout while the gateway is down,
/// slow, failing, calling back twice and calling back after the payment deadline. Orders
/// are taken in every drill; afterwards everything drains, `mall reconcile` finds no drift
/// (no paid order cancelled, every payment applied or refunded), and every payment the
/// gateway collected is either an order's payment or refunded at the gateway.
@Suite(.serialized) struct FaultDrillProcessTests {
    /// What the shoppers saw, per drill phase.
    final class Tally: Sendable {
        private let state = Mutex<(phase: String, ordersTaken: [String: Int], refused: Int, payments: [String: String], stopped: Bool,
                                   starts: [String: [Int: Int]], slowest: [String: Double])>(
            ("normal", [:], 0, [:], false, [:], [:]))
        var stopped: Bool {
            get { state.withLock { $0.stopped } }
            set { state.withLock { $0.stopped = newValue } }
        }
        var phase: String {
            get { state.withLock { $0.phase } }
            set { state.withLock { $0.phase = newValue } }
        }
        func orderTaken() { state.withLock { $0.ordersTaken[$0.phase, default: 0] += 1 } }
        func paymentRefused() { state.withLock { $0.refused += 1 } }
        /// A payment start answered `status` after `seconds`, in the current phase.
        func startAnswered(_ status: Int, after seconds: Double) {
            state.withLock {
                $0.starts[$0.phase, default: [:]][status, default: 0] += 1
                $0.slowest[$0.phase] = max($0.slowest[$0.phase] ?? 0, seconds)
            }
        }
        /// Payment starts per phase, by status.
        var starts: [String: [Int: Int]] { state.withLock { $0.starts } }
        /// The slowest payment start per phase, in seconds.
        var slowest: [String: Double] { state.withLock { $0.slowest } }
        func paymentStarted(_ id: String, order: String) { state.withLock { $0.payments[id] = order } }
        var ordersTaken: [String: Int] { state.withLock { $0.ordersTaken } }
        var refused: Int { state.withLock { $0.refused } }
        /// Payment id → order id, for every payment Mall acknowledged.
        var payments: [String: String] { state.withLock { $0.payments } }
    }

    @Test func ordersAreTakenInEveryDrillAndNoPaymentIsLostOrWronglyCancelled() async throws {
        let server = MallServerProcess(paymentWindow: 4, arguments: ["--max-unpaid-orders", "10000"])
        server.gatewayKnobs = #"{"callbackDelayMs":100}"#
        try await server.start()
        defer { server.terminate() }
        let gatewayLine = try #require(server.log.split(separator: "\n").first { $0.hasPrefix("payment gateway (fake, in process) on ") })
        let gatewayURL = try #require(URL(string: String(gatewayLine.dropFirst("payment gateway (fake, in process) on ".count).prefix { $0 != ";" })))
        let gateway = MallClient(baseURL: gatewayURL, bearer: MallServerProcess.gatewayAPIKey)
        let client = MallClient(baseURL: server.baseURL)
        let admin = MallServerProcess.adminToken
        #expect(try await client.send("POST", "/admin/stock/cocoa/receipts", json: ["quantity": 100_000], token: admin).status == 201)

        let tally = Tally()
        let shoppers = try await withThrowingTaskGroup(of: (String, String).self) { group in
            for index in 0..<4 { group.addTask { try await client.member("shopper\(index)") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let shopping = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (_, token) in shoppers {
                    group.addTask {
                        while !tally.stopped {
                            let placed = try await client.placeOrder(token, [("cocoa", 1)])
                            guard placed.status == 201, let order = placed.string("id") else { continue }
                            tally.orderTaken()
                            // Once stock is held; a payment refused now is not tried again (its deadline cancels the order).
                            for _ in 0..<100 {
                                let asked = ContinuousClock.now
                                let started = try await client.send("POST", "/orders/\(order)/payments", token: token)
                                if [200, 201, 202, 503].contains(started.status) {
                                    tally.startAnswered(started.status, after: (ContinuousClock.now - asked).timeInterval)
                                }
                                // 202: the gateway did not answer; the money may have been taken, so it counts as started.
                                if [200, 201, 202].contains(started.status), let payment = started.string("paymentId") {
                                    tally.paymentStarted(payment, order: order)
                                    break
                                }
                                if started.status == 503 {
                                    tally.paymentRefused()
                                    break
                                }
                                try await Task.sleep(for: .milliseconds(20))  // not awaiting payment yet
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }

        /// Holds the current phase `seconds`, and on until an order was taken in it: on a
        /// loaded machine the shoppers' first order has come after the first 2 s.
        func hold(seconds: Double) async throws {
            try await Task.sleep(for: .seconds(seconds))
            let phase = tally.phase
            try await eventually("an order is taken during \(phase)", timeout: .seconds(60), every: .milliseconds(100)) {
                (tally.ordersTaken[phase] ?? 0) > 0
            }
        }
        /// The gateway's callbacks the server counted as duplicates so far.
        func duplicateCallbacks() async throws -> Double {
            let metrics = String(decoding: try await client.send("GET", "/metrics", token: admin).body, as: UTF8.self)
            return MetricsTests.sample(metrics, "mall_payment_callbacks_total", ["result": "duplicate"]) ?? 0
        }
        var duplicates: [String: Double] = [:]
        /// Holds the drill until `effect` is seen (or 60 s pass): each drill must do what it says.
        func drill(_ kind: String, seconds: Double, until effect: @escaping () async throws -> Bool) async throws {
            let before = try await duplicateCallbacks()
            let started = try await client.send("POST", "/admin/drills", json: ["kind": kind, "seconds": 600, "by": "test", "reason": "drill"], token: admin)
            #expect(started.status == 201, "\(kind): \(started.json ?? "")")
            tally.phase = kind
            try await hold(seconds: seconds)
            try? await eventually("the \(kind) drill shows its effect", timeout: .seconds(60), every: .milliseconds(200), effect)
            #expect(try await client.send("POST", "/admin/drills/stop", token: admin).status == 200)
            duplicates[kind] = try await duplicateCallbacks() - before
        }
        func started(_ status: Int) -> Bool { (tally.starts[tally.phase]?[status] ?? 0) > 0 }
        try await hold(seconds: 2)
        try await drill("gateway-down", seconds: 4) { started(503) }
        try await drill("gateway-slow", seconds: 4) { started(202) }
        try await drill("gateway-failing", seconds: 4) { started(202) || started(503) }
        try await drill("duplicate-callbacks", seconds: 4) { try await duplicateCallbacks() > 0 }
        try await drill("late-callbacks", seconds: 4) { true }
        tally.phase = "after"
        try await Task.sleep(for: .seconds(2))
        tally.stopped = true
        try await shopping.value

        for phase in ["normal", "gateway-down", "gateway-slow", "gateway-failing", "duplicate-callbacks", "late-callbacks"] {
            #expect((tally.ordersTaken[phase] ?? 0) > 0, "orders are taken during \(phase): \(tally.ordersTaken)")
        }
        // Each drill did what it says, as the shoppers and the server saw it.
        let starts = tally.starts
        print("fault drills: payment starts per phase by status \(starts.sorted { $0.key < $1.key }), slowest \(tally.slowest), duplicates \(duplicates)")
        #expect((starts["gateway-down"]?[503] ?? 0) > 0, "down: starts refused, nothing charged (503): \(starts)")
        #expect((starts["gateway-down"]?[202] ?? 0) == 0, "down: never in doubt (the gateway answered 503 or was not asked)")
        #expect((starts["gateway-slow"]?[202] ?? 0) > 0, "slow: starts answered in doubt (202), never 'not charged': \(starts)")
        #expect(tally.slowest["gateway-slow"] ?? 0 >= 2, "slow: the gateway's latency was seen (the client's 2 s timeout)")
        #expect((starts["gateway-failing"]?[202] ?? 0) + (starts["gateway-failing"]?[503] ?? 0) > 0, "failing: its errors were seen: \(starts)")
        #expect(duplicates["duplicate-callbacks"] ?? 0 > 0, "duplicate callbacks were recognised as duplicates: \(duplicates)")
        #expect(tally.refused > 0, "starting a payment was refused (503) while the gateway was down")
        // Everything drains: every late callback in, every deadline fired, every refund made.
        var refunded = 0, applied = 0, uncollected = 0, waiting = ""
        defer { if refunded + applied + uncollected < tally.payments.count { Issue.record("still waiting on: \(waiting)") } }
        try await eventually("every payment the gateway collected is applied or refunded", timeout: .seconds(120), every: .milliseconds(500)) {
            refunded = 0
            applied = 0
            uncollected = 0
            for (payment, order) in tally.payments {
                let held = try await gateway.send("GET", "/v1/intents/\(payment)")
                waiting = "payment \(payment) of order \(order): gateway \(held.json ?? held.status)"
                // Started in doubt (202) and never reached the gateway: nothing was collected.
                if held.status == 404 {
                    uncollected += 1
                    continue
                }
                guard held.status == 200, let status = held.string("status"), status != "pending" else { return false }
                guard status == "succeeded" else {
                    uncollected += 1
                    continue
                }
                let seen = try await client.send("GET", "/admin/orders/\(order)", token: admin)
                if held["refunded"] as? Bool == true {
                    refunded += 1
                } else if seen.string("status") == "paid" || seen.string("status") == "shipped" || seen.string("status") == "completed" {
                    applied += 1
                } else {
                    waiting += ", order \(seen.string("status") ?? "\(seen.status)")"
                    return false
                }
            }
            return true
        }
        print("fault drills: orders taken per phase \(tally.ordersTaken.sorted { $0.key < $1.key }), payments refused \(tally.refused), "
            + "collected \(applied + refunded): \(applied) applied, \(refunded) refunded")
        #expect(applied > 0)
        #expect(refunded > 0, "late money for orders cancelled at their deadline went back")
        try await client.waitUntilCaughtUp()
        let reconciled = try await server.runCommand(["reconcile"])
        #expect(reconciled.status == 0, "mall reconcile: \(reconciled.output)")
        #expect(reconciled.output.contains("no drift"))
        let dead = try await client.send("GET", "/admin/dead-letters", token: admin)
        #expect(dead.array.isEmpty, "no dead letters from the drills: \(dead.json ?? "")")
    }

    /// A drill started from the command line reaches every node's gateway: one external
    /// `mall gateway serve` shared by the nodes (two on PostgreSQL, one on SQLite), each
    /// refusing payments while it is down and taking them again once the drill is stopped.
    @Test(arguments: Backend.available)
    func aDrillStartedFromTheCommandLineIsInForceOnEveryNodeAndEndsEverywhere(_ backend: Backend) async throws {
        let port = try PaymentGatewayProcessTests.freePort()
        let gateway = PaymentGatewayProcessTests.GatewayProcess()
        try await gateway.start(callbackURL: "http://127.0.0.1:\(port)/payment-gateway/callbacks")
        defer { gateway.stop() }
        let first = MallServerProcess(backend: backend, arguments: ["--gateway-url", gateway.url.absoluteString, "--max-unpaid-orders", "100"])
        try await first.start(port: port)
        defer { first.terminate() }
        let nodes = try await first.withPeer()
        defer { for node in nodes.dropFirst() { node.terminate() } }
        let shoppers = try await nodes.asyncMap { node in
            let client = MallClient(baseURL: node.baseURL)
            return (client, try await client.member("node").token)
        }
        /// Places an order on the node and tries to start paying it: the status of the start.
        func pay(_ client: MallClient, _ token: String) async throws -> Int {
            let order = try #require(try await client.placeOrder(token, [("cocoa", 1)]).string("id"))
            try await client.waitForOrder(order, token: token, status: "awaitingPayment")
            return try await client.send("POST", "/orders/\(order)/payments", token: token).status
        }

        let started = try await first.runCommand(["drill", "start", "gateway-down", "--seconds", "600", "--by", "test", "--reason", "every node"])
        #expect(started.status == 0, "\(started.output)")
        let startedAt = Date()
        for (index, (client, token)) in shoppers.enumerated() {
            try await eventually("node \(index) refuses payments while the gateway is down") { try await pay(client, token) == 503 }
            print("fault drill: node \(index) in force \(String(format: "%.2f", Date().timeIntervalSince(startedAt))) s after the command")
        }
        #expect(try await gateway.client.send("GET", "/v1/knobs").json.flatMap { ($0 as? [String: Any])?["outage"] as? Bool } == true)

        let stopped = try await first.runCommand(["drill", "stop"])
        #expect(stopped.status == 0, "\(stopped.output)")
        for (index, (client, token)) in shoppers.enumerated() {
            // Once the drill is taken back and the node's breaker has waited (5 s), payments go through.
            try await eventually("node \(index) takes payments again", timeout: .seconds(60), every: .milliseconds(500)) {
                (200...201).contains(try await pay(client, token))
            }
        }
        #expect(try await gateway.client.send("GET", "/v1/knobs").json.flatMap { ($0 as? [String: Any])?["outage"] as? Bool } == false)
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async throws -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
