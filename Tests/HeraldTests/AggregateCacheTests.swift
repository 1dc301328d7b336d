import Foundation
import HeraldTesting
import Testing

@testable import Herald

struct AggregateCacheTests {
    func cached(_ cache: AggregateCache, _ id: String, version: Int64, state: Data = Data("{}".utf8)) -> Bool {
        cache.value(TestCounter.self, stream: TestCounter(id: id).stream, version: version, state: state) != nil
    }

    @Test func aFullCacheMakesRoomByDroppingTheStreamCachedLongestAgo() {
        let cache = AggregateCache(capacity: 3)
        for (version, id) in ["a", "b", "c"].enumerated() { cache.store(TestCounter(id: id), stream: TestCounter(id: id).stream, version: Int64(version), state: Data("{}".utf8)) }
        // A newer version of a cached stream replaces it in place: nothing is dropped.
        cache.store(TestCounter(id: "a"), stream: TestCounter(id: "a").stream, version: 7, state: Data("{}".utf8))
        #expect(cache.count == 3)
        #expect(!cached(cache, "a", version: 0))
        #expect(cached(cache, "a", version: 7))

        cache.store(TestCounter(id: "d"), stream: TestCounter(id: "d").stream, version: 0, state: Data("{}".utf8))
        cache.store(TestCounter(id: "e"), stream: TestCounter(id: "e").stream, version: 0, state: Data("{}".utf8))
        #expect(cache.count == 3)
        #expect(!cached(cache, "a", version: 7))
        #expect(!cached(cache, "b", version: 1))
        #expect(cached(cache, "c", version: 2))
        #expect(cached(cache, "d", version: 0))
        #expect(cached(cache, "e", version: 0))
    }

    @Test func aDocumentWrittenAgainAtTheSameVersionIsNotTakenFromTheCache() {
        // A pruned aggregate created anew starts again at version 1, with other contents.
        let cache = AggregateCache(capacity: 3)
        cache.store(TestCounter(id: "a"), stream: TestCounter(id: "a").stream, version: 1, state: Data(#"{"value":1}"#.utf8))
        #expect(cached(cache, "a", version: 1, state: Data(#"{"value":1}"#.utf8)))
        #expect(!cached(cache, "a", version: 1, state: Data(#"{"value":7}"#.utf8)))
    }

    @Test func aCacheOfNoCapacityKeepsNothing() {
        let cache = AggregateCache(capacity: 0)
        cache.store(TestCounter(id: "a"), stream: TestCounter(id: "a").stream, version: 1, state: Data("{}".utf8))
        #expect(cache.count == 0)
        #expect(!cached(cache, "a", version: 1))
    }
}
