import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Herald
import MallPayment
import Synchronization
import TestSupport
import Testing

/// The system crash test: shoppers place orders (under idempotency keys) and pay them over
/// HTTP, some late, racing a 3-second payment deadline, while a server process is SIGKILLed
/// at random moments and restarted, again and again (on PostgreSQL one of two nodes).
/// Afterwards every acknowledged order exists once, every acknowledged payment is applied
/// to its order or (when the deadline won) refunded, no order is both paid and cancelled,
/// stock and coupons balance (`mall reconcile` finds no drift), no subscription's effect
/// appears twice in the log, and no answer was a 5xx other than 503.
///
/// `MALL_CRASH_KILLS` sets the number of kills (20 by default; BENCHMARKS.md has a run of
/// 1,000: `MALL_CRASH_KILLS=1000 scripts/postgres.sh -- swift test --filter CrashRestartTests`).
@Suite struct CrashRestartTests {
    static let kills = ProcessInfo.processInfo.environment["MALL_CRASH_KILLS"].flatMap(Int.init) ?? 20
    /// Short, so that some payments race their order's deadline. Longer on PostgreSQL: a
    /// killed node's partitions wait for its leases to expire (2 s here,
    /// `MALL_PARTITION_LEASE_SECONDS`) before the restarted node, a new node to the others,
    /// takes them, and orders wait with them.
    static func paymentWindow(_ backend: Backend) -> Double {
        if case .postgres = backend { 6 } else { 3 }
    }
    static let skus = ["tea-jasmine", "tea-oolong", "coffee-beans", "cocoa", "mug-stone", "teapot", "book-ddd", "book-swift",
                       "pen-fountain", "ink-blue", "notebook-a5", "pencil-set", "bottle-steel", "headlamp", "socks-wool", "tent-2p"]

    /// Where the servers that are up listen.
    final class Endpoint: Sendable {
        let urls = Mutex<[Int: URL]>([:])
        var client: MallClient? { urls.withLock { $0.values.randomElement() }.map { MallClient(baseURL: $0) } }
    }

    /// What the server acknowledged with a 2xx.
    final class Ledger: Sendable {
        struct State {
            var orders: [String: String] = [:]  // order id → member token
            var paid: Set<String> = []
            var failures = 0
            /// Answers with a status of 500 or more other than 503: none may come.
            var serverErrors: [String] = []
        }
        let state = Mutex(State())
    }

    /// On PostgreSQL two nodes serve one database and either may be killed.
    @Test(arguments: Backend.available)
    func killingTheServerRepeatedlyLosesAndDoublesNothing(_ backend: Backend) async throws {
        // One gateway for all nodes, as a shop has: a refund reaches the gateway that took the
        // payment, whichever node runs it. The test sends the callbacks itself (signed), so
        // the gateway's own would come after the test has ended.
        let gateway = PaymentGatewayProcessTests.GatewayProcess()
        try await gateway.start(callbackURL: "http://127.0.0.1:\(try PaymentGatewayProcessTests.freePort())/payment-gateway/callbacks",
                                arguments: ["--callback-delay-ms", "3600000"])
        defer { gateway.stop() }
        let window = Self.paymentWindow(backend)
        let server = MallServerProcess(paymentWindow: window, backend: backend, arguments: ["--gateway-url", gateway.url.absoluteString])
        server.environment["MALL_PARTITION_LEASE_SECONDS"] = "2"
        try await server.start()
        var nodes = [server]
        if case .postgres = backend {
            let second = MallServerProcess(sharing: server)
            try await second.start()
            nodes.append(second)
        }
        let endpoint = Endpoint()
        endpoint.urls.withLock { urls in for (index, node) in nodes.enumerated() { urls[index] = node.baseURL } }
        let setup = MallClient(baseURL: server.baseURL)
        var members: [(id: String, token: String)] = []
        for index in 0..<8 { members.append(try await setup.member("crash\(index)")) }

        let ledger = Ledger()
        let stop = StopFlag()
        let drivers = members.enumerated().map { index, member in
            Task { await Self.drive(member: member, seed: UInt64(index + 1), paymentWindow: window, endpoint: endpoint, ledger: ledger, stop: stop) }
        }

        var generator = SeededRandomSource(seed: 20_261_123)
        for _ in 0..<Self.kills {
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...900, using: &generator)))
            let victim = Int.random(in: 0..<nodes.count, using: &generator)
            endpoint.urls.withLock { $0[victim] = nil }
            await nodes[victim].kill()
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...200, using: &generator)))
            try await nodes[victim].start()
            endpoint.urls.withLock { $0[victim] = nodes[victim].baseURL }
        }
        try await Task.sleep(for: .milliseconds(500))
        stop.request()
        for driver in drivers { await driver.value }

        // Drain: every subscription caught up and no order waiting for stock or coupon.
        let client = MallClient(baseURL: server.baseURL)
        let acknowledged = ledger.state.withLock { $0 }
        print("crash test (\(backend.testDescription), \(nodes.count) node(s)): \(Self.kills) SIGKILLs; \(acknowledged.orders.count) orders and \(acknowledged.paid.count) payments acknowledged")
        #expect(acknowledged.orders.count >= 20, "the driver placed orders between the kills")
        #expect(acknowledged.paid.count >= 5, "the driver paid orders between the kills")
        #expect(acknowledged.serverErrors == [], "no 5xx but 503")
        func drained() async throws {
            try await eventually("every subscription and projection drained", every: .milliseconds(50)) {
                let statuses = try await client.send("GET", "/admin/subscriptions", token: MallServerProcess.adminToken).array
                // Six subscriptions (each in partitions on PostgreSQL: `name#p/count`) and five projections.
                let names = Set(statuses.compactMap { ($0["name"] as? String)?.split(separator: "#").first })
                return names.count == 11 && statuses.allSatisfy { ($0["lag"] as? Int) == 0 && ($0["retrying"] as? Int) == 0 }
            }
        }
        try await drained()
        // Orders still awaiting payment are cancelled when their deadline comes (the payment
        // window is short here), and their stock released after: wait for both.
        try await eventually("no acknowledged order awaits payment", timeout: .seconds(120), every: .milliseconds(500)) {
            for (orderID, token) in acknowledged.orders
            where try await client.send("GET", "/orders/\(orderID)", token: token).string("status") == "awaitingPayment" {
                return false
            }
            return true
        }
        try await drained()

        var appliedPayments = 0, lostToTheDeadline = 0
        for (orderID, token) in acknowledged.orders {
            let order = try await client.send("GET", "/orders/\(orderID)", token: token)
            #expect(order.status == 200, "acknowledged order \(orderID) exists")
            #expect(order.string("status") != "submitted", "order \(orderID) moved on")
            let events = (order["timeline"] as? [[String: Any]])?.compactMap { $0["event"] as? String } ?? []
            #expect(!(events.contains("OrderPaid") && events.contains("OrderCancelled")), "order \(orderID) paid and cancelled: \(events)")
            if order.string("status") == "paid" { appliedPayments += 1 }
            if acknowledged.paid.contains(orderID), order.string("status") == "cancelled" { lostToTheDeadline += 1 }
            // A payment that lost the race with its deadline is refunded, not applied:
            // `mall reconcile` below checks that (payment.applied-or-refunded).
            guard acknowledged.paid.contains(orderID), order.string("status") != "paid", order.string("status") != "cancelled" else { continue }
            // Lag 0 on PostgreSQL is "nothing visible behind": while an older transaction of
            // another node still runs, the newest commits are held back from every reader
            // (gap safety), the lag with them. So a payment not yet applied is given time to
            // be; one never applied fails here.
            let waited = ContinuousClock.now
            await #expect(throws: Never.self, "acknowledged payment of \(orderID) applied (or its order cancelled by the deadline)") {
                try await eventually("the payment of \(orderID) applied", timeout: .seconds(60), every: .milliseconds(50)) {
                    ["paid", "cancelled"].contains(try await client.send("GET", "/orders/\(orderID)", token: token).string("status"))
                }
            }
            print("crash test: the acknowledged payment of \(orderID) was applied \(ContinuousClock.now - waited) after the drain")
        }
        #expect(appliedPayments >= 5, "payments applied between the kills")
        print("crash test (\(backend.testDescription)): \(appliedPayments) orders paid, \(lostToTheDeadline) acknowledged payments lost to the deadline (refunded)")
        // The order history (a projection written with its checkpoint) lost and doubled
        // nothing through the kills: each acknowledged order is listed once for its member.
        for token in Set(acknowledged.orders.values) {
            var listed: [String] = []
            for page in 1... {
                let ids = try await client.send("GET", "/orders?page=\(page)", token: token).array.compactMap { $0["id"] as? String }
                if ids.isEmpty { break }
                listed += ids
            }
            #expect(listed.count == Set(listed).count, "no order listed twice")
            let mine = acknowledged.orders.filter { $0.value == token }.keys
            #expect(Set(mine).isSubset(of: listed), "every acknowledged order listed: missing \(Set(mine).subtracting(listed))")
        }
        for node in nodes { await node.stop() }

        let reconcile = Process()
        reconcile.executableURL = try MallServerProcess.executable()
        reconcile.arguments = ["reconcile"] + server.databaseArguments + ["--submitted-grace", "0"]
        let report = try await reconcile.runCapturingOutput(errors: false)
        #expect(reconcile.terminationStatus == 0, "mall reconcile: \(report)")
        #expect(report.contains("no drift"))

        // Exactly-once effects: every subscription's output event appears once per order.
        let counts = try await Self.eventCounts(nodes: nodes, backend: backend)
        let doubled = counts.filter { $0.value > 1 }.keys.sorted()
        #expect(doubled == [], "events recorded twice")
        #expect(counts.keys.contains { $0.hasSuffix("StockReserved") })
        #expect(counts.keys.contains { $0.hasSuffix("OrderPaid") })
    }

    /// One member's loop: place an order (retrying under its idempotency key through
    /// crashes), wait for it to await payment, pay it, repeat.
    static func drive(
        member: (id: String, token: String), seed: UInt64, paymentWindow: Double, endpoint: Endpoint, ledger: Ledger, stop: StopFlag
    ) async {
        var generator = SeededRandomSource(seed: seed)
        var sequence = 0
        while !stop.isRequested {
            sequence += 1
            let key = "crash-\(member.id)-\(sequence)"
            let lines = [(skus.randomElement(using: &generator)!, Int.random(in: 1...2, using: &generator))]
            func check(_ status: Int, _ what: String) {
                if status >= 500 && status != 503 { ledger.state.withLock { $0.serverErrors.append("\(what): \(status)") } }
            }
            guard let orderID = await retrying(stop: stop, endpoint: endpoint, { client in
                let placed = try await client.placeOrder(member.token, lines, key: key)
                check(placed.status, "POST /orders")
                return placed.status == 201 ? placed.string("id") : nil
            }) else { continue }
            ledger.state.withLock { $0.orders[orderID] = member.token }

            guard Bool.random(using: &generator) else { continue }
            let awaiting = await retrying(stop: stop, endpoint: endpoint) { client -> String? in
                let status = try await client.send("GET", "/orders/\(orderID)", token: member.token).string("status")
                if status == "submitted" { try await Task.sleep(for: .milliseconds(20)); throw NotYet() }
                return status
            }
            guard awaiting == "awaitingPayment" else { continue }
            // Some pay at once, some close to the deadline or past it.
            try? await Task.sleep(for: .milliseconds(Int.random(in: 0...Int(paymentWindow * 1300), using: &generator)))
            guard let started = await retrying(stop: stop, endpoint: endpoint, { client in
                let started = try await client.send("POST", "/orders/\(orderID)/payments", token: member.token)
                check(started.status, "POST /orders/{id}/payments")
                return [200, 201].contains(started.status) ? started : nil
            }) else { continue }
            let settled = await retrying(stop: stop, endpoint: endpoint) { client -> Bool? in
                let answer = try await client.gatewayCallback(for: started)
                check(answer.status, "POST /payments/callback")
                return answer.status == 200 ? true : nil
            }
            if settled == true { ledger.state.withLock { _ = $0.paid.insert(orderID) } }
        }
    }

    struct NotYet: Error {}

    /// How often each (stream, event type) occurs in the log, read through `mall`'s own store.
    static func eventCounts(nodes: [MallServerProcess], backend: Backend) async throws -> [String: Int] {
        let exporter = Process()
        exporter.executableURL = try MallServerProcess.executable()
        exporter.arguments = ["events"] + nodes[0].databaseArguments + ["--stream-types", "Order,Reservation,Payment"]
        let text = try await exporter.runCapturingOutput(errors: false)
        try #require(exporter.terminationStatus == 0, "mall events failed")
        var counts: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            counts["\(fields[1]) \(fields[2])", default: 0] += 1
        }
        return counts
    }

    /// Runs `body` until it returns, while the server is down or the connection breaks;
    /// a definite refusal (`nil`) ends it.
    static func retrying<T>(stop: StopFlag, endpoint: Endpoint, _ body: (MallClient) async throws -> T?) async -> T? {
        for _ in 0..<2000 {
            guard let client = endpoint.client else {
                try? await Task.sleep(for: .milliseconds(20))
                continue
            }
            do {
                return try await body(client)
            } catch {
                if stop.isRequested, !(error is NotYet) { return nil }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        return nil
    }
}
