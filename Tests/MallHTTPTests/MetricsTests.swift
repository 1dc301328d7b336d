import Foundation
@_spi(Operations) import MallApplication
import MallOperations
import MallHTTP
import Resilience
import TestSupport
import Testing

/// `GET /metrics`: Prometheus' text format behind the admin token, whose figures move with
/// the traffic and the store.
@Suite struct MetricsTests {
    /// The value of the sample `name{labels}` in an exposition, if present.
    static func sample(_ exposition: String, _ name: String, _ labels: [String: String] = [:]) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let value = Double(parts[1]) else { continue }
            let labelText = parts[0].drop { $0 != "{" }
            guard labels.allSatisfy({ labelText.contains("\($0.key)=\"\($0.value)\"") }) else { continue }
            return value
        }
        return nil
    }

    func scrape(_ client: MallClient) async throws -> String {
        let result = try await client.send("GET", "/metrics", token: MallServerProcess.adminToken)
        try #require(result.status == 200)
        #expect(result.contentType?.hasPrefix("text/plain") == true)
        return String(decoding: result.body, as: UTF8.self)
    }

    @Test func metricsNeedTheAdminTokenAndMoveWithTrafficAndTheLog() async throws {
        try await InProcessMall.run { client in
            #expect(try await client.send("GET", "/metrics").status == 401)
            let member = try await client.member("ada")
            #expect(try await client.send("GET", "/metrics", token: member.token).status == 403)

            try await client.waitUntilCaughtUp()  // the listing holds still: the three listings below share one version
            let before = try await scrape(client)
            let listed = Self.sample(before, "mall_http_requests_total", ["method": "GET", "route": "/products", "status": "200"]) ?? 0
            for _ in 0..<3 { #expect(try await client.send("GET", "/products?category=drinks").status == 200) }
            #expect(try await client.send("GET", "/products/no-such-sku").status == 404)
            #expect(try await client.send("GET", "/no/such/route/\(UUID())").status == 404)
            let order = try await client.placeOrder(member.token, [("cocoa", 1)])
            #expect(order.status == 201)
            try await client.waitUntilCaughtUp()

            let after = try await scrape(client)
            #expect(Self.sample(after, "mall_http_requests_total", ["method": "GET", "route": "/products", "status": "200"]) == listed + 3)
            // The three listings: the first renders the page (or finds it kept), the others find it kept.
            let hits = (Self.sample(after, "mall_listing_cache_hits_total") ?? 0) - (Self.sample(before, "mall_listing_cache_hits_total") ?? 0)
            let misses = (Self.sample(after, "mall_listing_cache_misses_total") ?? 0) - (Self.sample(before, "mall_listing_cache_misses_total") ?? 0)
            #expect(hits + misses == 3 && hits >= 2, "\(hits) hits, \(misses) misses")
            #expect((Self.sample(after, "mall_listing_cache_pages") ?? 0) >= 1)
            #expect(Self.sample(after, "mall_http_requests_total", ["route": "/products/{sku}", "status": "404"]) == 1, "the route's pattern, not the path")
            #expect(Self.sample(after, "mall_http_requests_total", ["route": "NotFound", "status": "404"]) == 1, "an unknown path makes no label of its own: \(after.split(separator: "\n").filter { $0.contains("404") })")
            #expect(!after.contains("no/such/route"), "\(after.split(separator: "\n").filter { $0.contains("404") })")
            #expect(Self.sample(after, "mall_http_requests_total", ["method": "POST", "route": "/orders", "status": "201"]) == 1)
            #expect(Self.sample(after, "mall_http_request_duration_seconds_count", ["method": "POST", "route": "/orders"]) == 1)
            // Herald counts into the same registry: the order's commit, its event, the saga's handlers.
            #expect((Self.sample(after, "herald_commits_total", ["kind": "unit_of_work"]) ?? 0) > (Self.sample(before, "herald_commits_total", ["kind": "unit_of_work"]) ?? 0))
            #expect(Self.sample(after, "herald_events_committed_total", ["type": "OrderSubmitted"]) == 1)
            // The SQLite writer's groups: the order's commits went through it, each group at least one write.
            let writes = (Self.sample(after, "herald_sqlite_writes_total") ?? 0) - (Self.sample(before, "herald_sqlite_writes_total") ?? 0)
            let transactions = (Self.sample(after, "herald_sqlite_write_transactions_total") ?? 0)
                - (Self.sample(before, "herald_sqlite_write_transactions_total") ?? 0)
            #expect(writes >= 3 && transactions >= 1 && writes >= transactions, "\(writes) writes in \(transactions) transactions")
            #expect(Self.sample(after, "herald_events_committed_total", ["type": "OrderAwaitingPayment"]) == 1, "committed by the saga's subscription")
            #expect((Self.sample(after, "herald_handler_duration_seconds_count", ["subscription": "inventory.reservations"]) ?? 0) >= 1)
            #expect((Self.sample(after, "herald_commit_duration_seconds_count", ["kind": "subscription"]) ?? 0) >= 1)
            // The saga's subscriptions have caught up: each is a series, none behind, none dead.
            for subscription in ["inventory.reservations", "ordering.process"] {
                #expect(Self.sample(after, "herald_subscription_lag", ["subscription": subscription]) == 0, "\(subscription)")
                #expect(Self.sample(after, "herald_subscription_dead", ["subscription": subscription]) == 0, "\(subscription)")
            }
        }
    }

    @Test func refusalsScheduledMessagesAndJobRunsAreCounted() async throws {
        // One order per member, and the next token after 1,000 s: on a loaded machine one
        // order has taken longer than a second.
        try await InProcessMall.run(configure: { $0.orderLimit = RateLimitPolicy(rate: 0.001, burst: 1) }, jobs: true) { client in
            let member = try await client.member("ada")
            let before = try await scrape(client)
            #expect(Self.sample(before, "mall_ingress_refusals_total", ["refusal": "orders"]) == 0, "every refusal is a series from the start")
            #expect(Self.sample(before, "herald_scheduled_messages_pending") == 0)

            #expect(try await client.placeOrder(member.token, [("cocoa", 1)]).status == 201)
            #expect(try await client.placeOrder(member.token, [("cocoa", 1)]).status == 429)
            try await client.waitUntilCaughtUp()
            #expect(try await client.send("POST", "/admin/jobs/subscription-health/trigger", json: ["by": "metrics test"], token: MallServerProcess.adminToken).status == 200)

            var after = try await scrape(client)
            try await eventually("the triggered run is counted") {
                after = try await scrape(client)
                return Self.sample(after, "scheduling_job_runs_total", ["job": "subscription-health", "outcome": "succeeded"]) != nil
            }
            #expect(Self.sample(after, "mall_ingress_refusals_total", ["refusal": "orders"]) == 1)
            #expect(Self.sample(after, "mall_ingress_refusals_total", ["refusal": "overloaded"]) == 0)
            // The awaiting order's payment deadline waits; it is not due for its window.
            #expect(Self.sample(after, "herald_scheduled_messages_pending") == 1)
            #expect(Self.sample(after, "herald_scheduled_messages_due") == 0)
            #expect(Self.sample(after, "scheduling_job_runs_total", ["job": "subscription-health", "outcome": "succeeded"]) == 1)
            #expect(Self.sample(after, "scheduling_job_run_duration_seconds_count", ["job": "subscription-health"]) == 1)
            #expect(Self.sample(after, "mall_job_last_run_succeeded", ["job": "subscription-health"]) == 1)
        }
    }

    @Test func metricsOffServesNoEndpoint() async throws {
        try await InProcessMall.run(configure: { $0.metrics = false }) { client in
            let scrape = try await client.send("GET", "/metrics", token: MallServerProcess.adminToken)
            #expect(scrape.status == 404)
        }
    }
}
