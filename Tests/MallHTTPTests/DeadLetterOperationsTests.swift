import Foundation
import Herald
import HeraldSQLite
import MallKernel
import MallOrderingEvents
import TestSupport
import Testing

/// An operator's dead-letter work on a running shop, end to end: `mall dead-letters
/// list|replay|discard` and `/admin/dead-letters…` against real failures, each of the four
/// operations through both.
@Suite struct DeadLetterOperationsTests {
    /// A running server, and a second writer on its file that breaks things as a bad disk or
    /// a bad deploy would.
    struct Shop {
        let server: MallServerProcess
        let client: MallClient
        let store: SQLiteEventStore
        let admin = MallServerProcess.adminToken

        /// Damages a stock document; returns how to put it back.
        func damageStock(_ sku: String) async throws -> @Sendable () async throws -> Void {
            try await store.damage(StreamID(type: "Stock", id: sku))
        }

        /// An `OrderSubmitted` whose lines list a SKU twice: Inventory dead-letters it.
        func forgeDuplicateSKUOrder(_ orderID: String) async throws {
            let submitted = OrderSubmitted(
                orderID: orderID, memberID: "m-nobody", lines: [StockLine(sku: "cocoa", quantity: 1), StockLine(sku: "cocoa", quantity: 1)],
                couponCode: nil, total: Money(minorUnits: 100, currency: "USD"), fromCart: false)
            var forged = Changeset(recordedAt: Date())
            forged.events = [NewEvent(
                eventID: UUID(), stream: StreamID(type: "Order", id: orderID), eventType: OrderSubmitted.eventType, schemaVersion: 1,
                payload: try JSONEncoder().encode(submitted), occurredAt: Date())]
            _ = try await store.commit(forged)
        }

        func deadLetters() async throws -> [[String: Any]] {
            try await client.send("GET", "/admin/dead-letters", token: admin).array
        }

        /// Waits until the admin API lists `count` dead letters; returns them.
        func waitForDeadLetters(_ count: Int) async throws -> [[String: Any]] {
            var letters: [[String: Any]] = []
            try await eventually("\(count) dead letters") {
                letters = try await deadLetters()
                return letters.count == count
            }
            return letters
        }

        func mall(_ arguments: String...) async throws -> String {
            let result = try await server.runCommand(arguments)
            #expect(result.status == 0, "mall \(arguments.joined(separator: " ")): \(result.output)")
            return result.output
        }
    }

    @Test func replayAndDiscardThroughTheCLIAndTheAdminAPI() async throws {
        let server = MallServerProcess()
        try await server.start()
        defer { server.terminate() }
        let shop = Shop(server: server, client: MallClient(baseURL: server.baseURL), store: try SQLiteEventStore(path: server.database))
        let ada = try await shop.client.member("ada")

        // Round 1: replay through the CLI, discard through the API.
        let repair = try await shop.damageStock("mug-stone")
        let stuck = try #require(try await shop.client.placeOrder(ada.token, [("mug-stone", 1)]).string("id"))
        try await shop.forgeDuplicateSKUOrder("o-forged-1")
        let letters = try await shop.waitForDeadLetters(2)
        let damaged = try #require(letters.first { ($0["lastError"] as? String)?.contains("Stock/mug-stone") == true }, "\(letters)")
        let forged = try #require(letters.first { ($0["lastError"] as? String)?.contains("lists cocoa twice") == true }, "\(letters)")

        let listed = try await shop.mall("dead-letters", "list")
        #expect(listed.contains("2 dead letter(s)") && listed.contains("inventory.reservations"), "\(listed)")
        try await repair()
        let replayed = try await shop.mall("dead-letters", "replay", "--subscription", "inventory.reservations", "--position", "\(damaged["position"]!)")
        #expect(replayed.contains("replaying 1 dead letter(s)"), "\(replayed)")
        try await shop.client.waitForOrder(stuck, token: ada.token, status: "awaitingPayment")  // the fixed order goes on

        let discarded = try await shop.client.send("POST", "/admin/dead-letters/discard", json: ["position": forged["position"]!], token: shop.admin)
        #expect(discarded.status == 200 && discarded["count"] as? Int == 1, "\(discarded.json ?? "")")
        #expect(try await shop.deadLetters().isEmpty)
        #expect(try await shop.mall("dead-letters", "list").contains("0 dead letter(s)"))

        // Round 2: replay through the API, discard through the CLI.
        let repairAgain = try await shop.damageStock("teapot")
        let second = try #require(try await shop.client.placeOrder(ada.token, [("teapot", 1)]).string("id"))
        try await shop.forgeDuplicateSKUOrder("o-forged-2")
        _ = try await shop.waitForDeadLetters(2)
        let discardedByCLI = try await shop.mall("dead-letters", "discard", "--event-type", "OrderSubmitted")
        #expect(discardedByCLI.contains("discarded 2 dead letter(s)"), "both are OrderSubmitted events: \(discardedByCLI)")
        #expect(try await shop.deadLetters().isEmpty)
        // Discarding the real order's letter released nothing of its stream: place it again after the fix.
        try await repairAgain()
        let third = try #require(try await shop.client.placeOrder(ada.token, [("teapot", 1)]).string("id"))
        try await shop.client.waitForOrder(third, token: ada.token, status: "awaitingPayment")
        #expect(try await shop.client.send("GET", "/orders/\(second)", token: ada.token).string("status") == "submitted",
                "a discarded event is never delivered")

        let repairCocoa = try await shop.damageStock("cocoa")
        let fourth = try #require(try await shop.client.placeOrder(ada.token, [("cocoa", 1)]).string("id"))
        _ = try await shop.waitForDeadLetters(1)
        try await repairCocoa()
        let replayedByAPI = try await shop.client.send("POST", "/admin/dead-letters/replay", json: ["subscription": "inventory.reservations"], token: shop.admin)
        #expect(replayedByAPI.status == 200 && replayedByAPI["count"] as? Int == 1, "\(replayedByAPI.json ?? "")")
        try await shop.client.waitForOrder(fourth, token: ada.token, status: "awaitingPayment")
        #expect(try await shop.deadLetters().isEmpty)
    }
}
