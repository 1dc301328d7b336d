import Foundation
import Testing

/// Deep pages of the listing: `page=` stops at 50 (each deeper page was an offset over every
/// product before it, for anyone, unauthenticated); past that, and anywhere, the cursor a
/// full page gives (`next`, sent back as `after=`) walks the listing in the same order, each
/// product once.
@Suite struct CatalogPagingTests {
    @Test func followingNextWalksEveryProductOnceInTheSameOrderAsPages() async throws {
        try await InProcessMall.run { client in
            let admin = MallServerProcess.adminToken
            for index in 0..<45 {
                let listed = try await client.send("POST", "/admin/products", json: [
                    "sku": "walk-\(index)", "title": index % 3 == 0 ? "Same title" : "Walking item \(index % 7)", "category": "walk",
                    "weightGrams": 100, "price": ["minorUnits": 100 + (index % 5) * 10, "currency": "USD"],
                ], token: admin)
                try #require(listed.status == 201, "\(listed.json ?? "")")
            }
            try await client.waitUntilCaughtUp()
            for query in ["", "&category=walk", "&q=walking"] {
                for sort in ["title", "price", "-price"] {
                    let first = try await client.send("GET", "/products?sort=\(sort)\(query)")
                    let total = try #require(first["total"] as? Int)
                    var paged: [String] = []
                    for page in 1...max(1, (total + 19) / 20) {
                        let items = try await client.send("GET", "/products?sort=\(sort)\(query)&page=\(page)")["items"] as? [[String: Any]] ?? []
                        paged += items.compactMap { $0["sku"] as? String }
                    }
                    var walked: [String] = []
                    var next = first["next"] as? String
                    walked += (first["items"] as? [[String: Any]] ?? []).compactMap { $0["sku"] as? String }
                    while let cursor = next {
                        let page = try await client.send("GET", "/products?sort=\(sort)\(query)&after=\(cursor)")
                        try #require(page.status == 200, "\(page.json ?? "")")
                        walked += (page["items"] as? [[String: Any]] ?? []).compactMap { $0["sku"] as? String }
                        next = page["next"] as? String
                        try #require(walked.count <= total + 20, "the walk ends")
                    }
                    #expect(walked.count == total && Set(walked).count == total, "sort \(sort)\(query): \(walked.count) of \(total)")
                    #expect(walked == paged, "sort \(sort)\(query): the cursor's order is the pages' order")
                }
            }
        }
    }

    @Test func deepOffsetsAreRefusedNamingTheCursorAndAForeignCursorIsRefused() async throws {
        try await InProcessMall.run { client in
            let deep = try await client.send("GET", "/products?page=51")
            #expect(deep.status == 400)
            #expect(deep.string("field") == "page")
            #expect(deep.string("detail")?.contains("after=") == true, "\(deep.json ?? "")")
            #expect(try await client.send("GET", "/products?page=50").status == 200)

            try await client.waitUntilCaughtUp()
            let first = try await client.send("GET", "/products?sort=title")
            let cursor = try #require(first.string("next"), "the demo catalog has more than a page")
            #expect(try await client.send("GET", "/products?sort=title&after=\(cursor)").status == 200)
            for (query, field) in [("sort=price&after=\(cursor)", "after"), ("sort=title&after=bm90LWEtY3Vyc29y", "after"),
                                   ("sort=title&after=\(cursor)&page=2", "page"), ("sort=relevance", "sort"),
                                   ("q=tea&sort=relevance&after=\(cursor)", "after"), ("q=tea&after=\(cursor)", "after")] {
                let refused = try await client.send("GET", "/products?\(query)")
                #expect(refused.status == 422, "\(query): \(refused.status)")
                #expect(refused.string("field") == field, "\(query)")
            }
            // A search ranks by relevance unless told otherwise, and pages by number only.
            let ranked = try await client.send("GET", "/products?q=tea*")
            #expect(ranked.status == 200 && (ranked["items"] as? [[String: Any]])?.isEmpty == false, "\(ranked.json ?? "")")
            #expect(ranked["next"] == nil, "no cursor in relevance order")
            let long = String(repeating: "word ", count: 41)
            #expect(try await client.send("GET", "/products?q=\(long.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)").status == 400,
                    "q is at most 200 characters")
        }
    }
}
