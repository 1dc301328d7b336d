import Herald
import MallApplication
import NIOCore
import Synchronization

/// Rendered pages of `GET /products`, served again while the catalog's listing is unchanged.
///
/// A page is kept with the listing's ``ProjectionVersion`` read *before* its rows were, and
/// served only to a request that reads the same version: the listing moves its version in
/// the transaction that changes its rows, so a cached page is never older than the listing
/// a request would have queried. The version is read from the store on every request, so a
/// change made on another node shows as soon as the listing has it, as without the cache.
///
/// What it saves: at 100,000 products a category page took about 0.6 ms of a core (two
/// queries, twenty rows decoded and encoded), the version one small read
/// (`mall-bench --catalog`, BENCHMARKS.md).
///
/// Bounded: at most `capacity` pages; when full, the page kept longest goes (one page, in
/// constant time: a stream of distinct searches never empties it all at once). Its key is
/// the search as it is read (``ListingQuery``): spellings of one search
/// share a page, and a long text cannot make a key of its own per character.
final class ListingCache: Sendable {
    struct Page: Sendable {
        var version: ProjectionVersion
        var body: ByteBuffer
    }

    let capacity: Int
    private let state: Mutex<(pages: [Key: Page], arrivals: ArrivalRing<Key>, counts: Counts)>

    /// Requests answered with a kept page, and requests that rendered theirs.
    struct Counts: Sendable, Hashable {
        var hits = 0
        var misses = 0
    }

    /// What a page depends on besides the listing: the request's search, after the switches.
    struct Key: Hashable, Sendable {
        var query: ListingQuery
        /// Served in place of a text search by the search-degraded switch.
        var degraded: Bool
    }

    init(capacity: Int) {
        self.capacity = capacity
        state = Mutex(([:], ArrivalRing(capacity: capacity), Counts()))
    }

    var count: Int { state.withLock { $0.pages.count } }

    /// Hits and misses so far (for `/metrics`).
    var counts: Counts { state.withLock { $0.counts } }

    /// The page kept for `key`, when it was rendered from the listing at `version`.
    func page(_ key: Key, at version: ProjectionVersion) -> Page? {
        state.withLock { state -> Page? in
            guard let page = state.pages[key], page.version == version else {
                state.counts.misses += 1
                return nil
            }
            state.counts.hits += 1
            return page
        }
    }

    func store(_ key: Key, _ page: Page) {
        state.withLock { state in
            if state.pages.updateValue(page, forKey: key) == nil, let forgotten = state.arrivals.admit(key) {
                state.pages[forgotten] = nil
            }
        }
    }
}
