import Foundation
import Herald
import HeraldSQLite
import MallKernel
import MallOrderingEvents
import TestSupport
import Testing

/// A bad stored record never crashes the process: written straight into the database of a
/// running server, a damaged aggregate document makes the requests that need it fail with a
/// problem naming it, and an event whose lines list a SKU twice (which once tripped a
/// precondition in Inventory and killed the server) becomes a dead letter saying so. The
/// server keeps serving everything else.
@Suite struct DamagedDataTests {
    @Test func aDamagedDocumentAndADuplicateSKUEventAreReportedAndTheServerStaysUp() async throws {
        let server = MallServerProcess()
        try await server.start()
        defer { server.terminate() }
        let client = MallClient(baseURL: server.baseURL)
        let admin = MallServerProcess.adminToken
        #expect(try await client.send("GET", "/products/teapot").status == 200)

        // Another process writes to the same file, as an operator's mistake or a bad disk would.
        let store = try SQLiteEventStore(path: server.database)
        _ = try await store.damage(StreamID(type: "Stock", id: "mug-stone"), with: #"{"id":"mug-stone","onHand":"#)

        var forged = Changeset(recordedAt: Date())
        let submitted = OrderSubmitted(
            orderID: "o-forged", memberID: "m-nobody", lines: [StockLine(sku: "teapot", quantity: 30), StockLine(sku: "teapot", quantity: 30)],
            couponCode: nil, total: Money(minorUnits: 210_000, currency: "USD"), fromCart: false)
        forged.events = [NewEvent(
            eventID: UUID(), stream: StreamID(type: "Order", id: "o-forged"), eventType: OrderSubmitted.eventType, schemaVersion: 1,
            payload: try JSONEncoder().encode(submitted), occurredAt: Date())]
        _ = try await store.commit(forged)

        let damaged = try await client.send("GET", "/products/mug-stone")
        #expect(damaged.status == 500 && damaged.contentType == "application/problem+json")
        #expect(damaged.string("type") == "https://mall.example/problems/damaged-record")
        #expect(damaged.string("detail")?.contains("Stock/mug-stone") == true, "names the record: \(damaged.json ?? "")")

        var letters: [[String: Any]] = []
        try await eventually("the forged order's event becomes a dead letter") {
            letters = try await client.send("GET", "/admin/dead-letters", token: admin).array
            return !letters.isEmpty
        }
        let letter = try #require(letters.first { $0["subscription"] as? String == "inventory.reservations" }, "\(letters)")
        #expect((letter["lastError"] as? String)?.contains("order o-forged lists teapot twice") == true, "\(letter)")
        #expect(letter["attempts"] as? Int == 1, "retrying cannot fix it: dead at once")

        #expect(server.process?.isRunning == true, "the server is still up")
        #expect(try await client.send("GET", "/health/live").status == 200)
        #expect(try await client.send("GET", "/products/teapot")["available"] as? Int == 40, "nothing was held for the forged order")
        let ada = try await client.member("ada")
        #expect(try await client.placeOrder(ada.token, [("teapot", 1)]).status == 201, "orders still flow")
    }
}
