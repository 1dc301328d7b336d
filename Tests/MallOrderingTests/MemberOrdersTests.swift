import Foundation
import Herald
import HeraldTesting
import MallEvents
@testable import MallOrdering
import Testing

/// A member's order list: newest first, page by page, from a document of bounded size.
@Suite struct MemberOrdersTests {
    static let address = Address(name: "Ada", phone: "1", line1: "1 Loop Road", city: "Localhost", postcode: "12345")
    static let details = OrderDetails(address: address, paymentMethod: "card", delivery: "standard", fromCart: false)

    @Test func pagesRunNewestFirstAcrossChunksAndTheListDocumentStaysSmall() async throws {
        let engine = HeraldEngine(store: InMemoryEventStore())
        let total = 2 * MemberOrders.chunkSize + 25
        let ordering = OrderingService(engine: engine, limits: OrderLimits(openOrdersPerMember: total))
        var placed: [String] = []
        for _ in 0..<total {
            placed.append(try await ordering.submit(memberID: "ada", quote: OrderTransitionTests.quote(), details: Self.details, idempotency: nil).order.id)
        }
        _ = try await ordering.submit(memberID: "bob", quote: OrderTransitionTests.quote(), details: Self.details, idempotency: nil)

        var listed: [String] = []
        for page in 1... {
            let orders = try await ordering.orders(memberID: "ada", page: page)
            if orders.isEmpty { break }
            #expect(orders.count <= OrderingService.pageSize)
            listed += orders.map(\.id)
        }
        #expect(listed == placed.reversed())

        let list = try #require(try await engine.unitOfWork().load(MemberOrders.self, id: "ada"))
        #expect(list.count == total)
        #expect(list.recent == Array(placed.suffix(25)))
        let firstChunk = try await engine.unitOfWork().load(MemberOrderChunk.self, id: MemberOrderChunk.id(memberID: "ada", index: 0))
        #expect(firstChunk?.orderIDs == Array(placed.prefix(MemberOrders.chunkSize)))
    }

    @Test func aListWrittenBeforeChunksSplitsIntoChunksOnTheNextOrder() throws {
        let old = (0..<(2 * MemberOrders.chunkSize + 7)).map { "o-\($0)" }
        let document = try JSONSerialization.data(withJSONObject: ["id": "ada", "orderIDs": old])
        var list = try JSONDecoder().decode(MemberOrders.self, from: document)
        #expect(list.count == old.count)
        #expect(list.place(of: 3) == .recent(offset: 3))

        let chunks = list.append("o-new")
        #expect(chunks.map(\.id) == ["ada/0", "ada/1"])
        #expect(chunks.map(\.orderIDs) == [Array(old[0..<50]), Array(old[50..<100])])
        #expect(list.recent == Array(old[100...]) + ["o-new"])
        #expect(list.count == old.count + 1)
        #expect(list.place(of: 3) == .chunk(index: 0, offset: 3))
        #expect(list.place(of: old.count) == .recent(offset: 7))
    }
}
