import Foundation
import GRDB
import Herald
import HeraldSQLite
@_spi(Operations) import MallApplication
import MallOperations
import MallCatalog
import MallKernel
@testable import MallHTTP
import Testing
import TestSupport

/// `GET /products` pages kept by `ListingCache`: served again while the catalog's listing
/// is unchanged, and never once it has changed.
@Suite struct ListingCacheTests {
    static let path = "/products?category=drinks"

    /// Changes a listing row behind Herald's back (the checkpoint stays where it was), so a
    /// response shows whether the page was queried again or kept.
    static func tamper(_ mall: Mall, title: String) async throws {
        let store = try #require(mall.engine.store as? SQLiteEventStore)
        let table = try #require(CatalogListing.projection().schema.physicalTables(generation: 1)["products"])
        try await store.database.write { db in
            try db.execute(sql: "UPDATE \"\(table)\" SET title = ? WHERE sku = 'tea-oolong'", arguments: [title])
        }
    }

    @Test func aPageIsServedAgainWhileTheListingIsUnchangedAndNeverAfterItChanges() async throws {
        try await InProcessMall.run { client, mall in
            try await eventually("the demo catalog is listed") { try await client.send("GET", Self.path).json.map { "\($0)" }?.contains("tea-oolong") == true }
            let first = try await client.send("GET", Self.path)
            try await Self.tamper(mall, title: "Tampered")
            let again = try await client.send("GET", Self.path)
            #expect(again.body == first.body, "the listing's version did not move: the kept page")

            let currency = mall.configuration.pricing.currency
            let edited = ProductDetails(sku: "tea-oolong", title: "Oolong tea, smoky, 100 g", category: "drinks", weightGrams: 120)
            try await mall.catalog.update(edited, price: Money(minorUnits: 1600, currency: currency))
            try await eventually("the listing has the change") {
                try await mall.catalog.products(ProductSearch(category: "drinks")).items.contains { $0.title == edited.title }
            }
            let after = String(decoding: try await client.send("GET", Self.path).body, as: UTF8.self)
            #expect(after.contains("smoky"), "the first request after the listing changed shows the change: \(after)")
        }
    }

    @Test func ordersLeaveTheListingsVersionAndSoItsKeptPages() async throws {
        try await InProcessMall.run { client, mall in
            try await client.waitUntilCaughtUp()
            let before = try await mall.listingVersion()
            let member = try await client.member("ada")
            #expect(try await client.placeOrder(member.token, [("cocoa", 1)]).status == 201)
            try await client.waitUntilCaughtUp()
            let checkpoints = try await mall.engine.store.checkpoints()
            let listing = try #require(checkpoints.first { $0.key.hasPrefix("catalog@g") }?.value)
            #expect(listing > 0, "the listing's checkpoint moved past the order's events: \(checkpoints)")
            #expect(try await mall.listingVersion() == before, "no product changed: the kept pages stay valid")
        }
    }

    @Test func withoutTheCacheEveryRequestQueriesTheListing() async throws {
        try await InProcessMall.run(configure: { $0.listingCachePages = 0 }) { client, mall in
            try await eventually("the demo catalog is listed") { try await client.send("GET", Self.path).json.map { "\($0)" }?.contains("tea-oolong") == true }
            _ = try await client.send("GET", Self.path)
            try await Self.tamper(mall, title: "Tampered")
            let again = String(decoding: try await client.send("GET", Self.path).body, as: UTF8.self)
            #expect(again.contains("Tampered"), "queried again: \(again)")
        }
    }

    @Test func theCacheHoldsAtMostItsCapacityAndDropsOnePageAtATimeTheOldestFirst() {
        let cache = ListingCache(capacity: 4)
        func key(_ page: Int) -> ListingCache.Key { .init(query: try! ListingQuery(category: nil, text: nil, sort: nil, page: page, pageGiven: true, after: nil), degraded: false) }
        let old = ListingVersion(ProjectionVersion(generation: 1, changes: 10)), new = ListingVersion(ProjectionVersion(generation: 1, changes: 11))
        for page in 1...4 { cache.store(key(page), .init(version: old, body: .init(string: "old \(page)"))) }
        #expect(cache.page(key(1), at: old) != nil)
        #expect(cache.page(key(1), at: new) == nil, "a page of another version is not served")
        cache.store(key(1), .init(version: new, body: .init(string: "new 1")))
        #expect(cache.count == 4, "a page stored again takes its own place")
        cache.store(key(5), .init(version: new, body: .init(string: "new 5")))
        #expect(cache.count == 4, "full: one page made room, not half of them")
        #expect(cache.page(key(1), at: new) == nil, "the page kept longest went first")
        #expect(cache.page(key(2), at: old) != nil && cache.page(key(5), at: new) != nil)
        for page in 6...20 { cache.store(key(page), .init(version: new, body: .init(string: "new \(page)"))) }
        #expect(cache.count == 4)
        #expect((17...20).allSatisfy { cache.page(key($0), at: new) != nil }, "the latest four are kept")
    }

    /// Spellings of one search are one page: the key is the search as it is read.
    @Test func spellingsOfOneSearchShareAKeptPage() async throws {
        try await InProcessMall.run { client, _ in
            try await eventually("the demo catalog is listed") { try await client.send("GET", "/products?q=tea").json.map { "\($0)" }?.contains("tea-") == true }
            let metrics = { try await client.send("GET", "/metrics", token: MallServerProcess.adminToken) }
            func hits() async throws -> Double {
                MetricsTests.sample(String(decoding: try await metrics().body, as: UTF8.self), "mall_listing_cache_hits_total", [:]) ?? 0
            }
            let first = try await client.send("GET", "/products?q=Green%20Tea")
            let before = try await hits()
            for spelling in ["green%20tea", "%20GREEN%20%20%20tea%20", "green,tea", "GR%C3%8BEN%20tea"] {
                let again = try await client.send("GET", "/products?q=\(spelling)")
                #expect(again.body == first.body, "\(spelling)")
            }
            #expect(try await hits() - before == 4, "four spellings, four pages served from the one kept")
        }
    }
}
