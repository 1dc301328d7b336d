import Foundation
import Herald
import HeraldTesting
import MallKernel
@testable import MallOrdering
import MallOrderingEvents
import Testing

/// A member's order history: newest first, page by page, from the OrderHistory projection;
/// the document written with each order holds only the member's open orders.
@Suite struct MemberOrdersTests {
    static let address = Address(name: "Ada", phone: "1", line1: "1 Loop Road", city: "Localhost", postcode: "12345")
    static let request = OrderRequest(lines: .given([StockLine(sku: "tea", quantity: 1)]), address: address, paymentMethod: "card")

    @Test func pagesRunNewestFirstAndHoldOnlyTheMembersOwnOrders() async throws {
        var registry = EventRegistry()
        registry.register(OrderSubmitted.self)
        let engine = HeraldEngine(store: InMemoryEventStore(), registry: registry)
        let history = OrderHistory.projection()
        try await engine.prepare(history)
        let total = 2 * OrderingService.pageSize + 5
        let ordering = OrderingService(engine: engine, limits: OrderLimits(openOrdersPerMember: total))
        var placed: [String] = []
        for index in 0..<total {
            placed.append(try await ordering.place(Self.request, memberID: "ada", idempotency: nil, quoting: FixedQuote(), cart: NoCart()).order.id)
            if index % 10 == 0 {
                _ = try await ordering.place(Self.request, memberID: "bob", idempotency: nil, quoting: FixedQuote(), cart: NoCart())
            }
        }
        #expect(try await ordering.orders(memberID: "ada").isEmpty, "the history follows the log: nothing before the projection ran")
        try await engine.projectionWorker(for: history).drain()

        var listed: [String] = []
        for page in 1... {
            let orders = try await ordering.orders(memberID: "ada", page: page)
            if orders.isEmpty { break }
            #expect(orders.count <= OrderingService.pageSize)
            #expect(orders.allSatisfy { $0.memberID == "ada" })
            listed += orders.map(\.id)
        }
        #expect(listed == placed.reversed())
        let open = try #require(try await engine.unitOfWork().load(MemberOrders.self, id: "ada"))
        #expect(open.open == placed, "every order is still open: none was paid")
    }

    @Test func aDocumentThatListedEveryOrderKeepsOnlyItsOpenOnes() throws {
        let old = (0..<120).map { "o-\($0)" }
        let document = try JSONSerialization.data(withJSONObject: ["id": "ada", "count": 120, "recent": old, "open": ["o-119"]])
        let list = try JSONDecoder().decode(MemberOrders.self, from: document)
        #expect(list.open == ["o-119"])
        let saved = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(list)) as? [String: Any])
        #expect(Set(saved.keys) == ["id", "open"], "the old ids are dropped on the next save")
    }
}
