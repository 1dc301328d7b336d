import Herald
import Synchronization

/// The version of the catalog's listing: it changes whenever a listed product does, in the
/// transaction that changes the product's rows.
public struct ListingVersion: Hashable, Sendable {
    let version: ProjectionVersion

    @_spi(Operations) public init(_ version: ProjectionVersion) { self.version = version }
}

/// Rendered pages of the listing (`GET /products`), served again while the catalog's
/// listing is unchanged: ``Mall/listingPage(_:in:render:)`` reads and keeps them.
///
/// A page is kept with the ``ListingVersion`` read *before* its rows were, and
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
public final class ListingPages<Body: Sendable>: Sendable {
    public struct Page: Sendable {
        public var version: ListingVersion
        public var body: Body

        public init(version: ListingVersion, body: Body) {
            (self.version, self.body) = (version, body)
        }
    }

    public let capacity: Int
    private let state: Mutex<(pages: [Key: Page], arrivals: ArrivalRing<Key>, counts: Counts)>

    /// Requests answered with a kept page, and requests that rendered theirs.
    public struct Counts: Sendable, Hashable {
        public var hits = 0
        public var misses = 0

        public init() {}
    }

    /// What a page depends on besides the listing: the request's search, after the switches.
    public struct Key: Hashable, Sendable {
        public var query: ListingQuery
        /// Served in place of a text search by the search-degraded switch.
        public var degraded: Bool

        public init(query: ListingQuery, degraded: Bool) {
            (self.query, self.degraded) = (query, degraded)
        }
    }

    public init(capacity: Int) {
        self.capacity = capacity
        state = Mutex(([:], ArrivalRing(capacity: capacity), Counts()))
    }

    public var count: Int { state.withLock { $0.pages.count } }

    /// Hits and misses so far (for `/metrics`).
    public var counts: Counts { state.withLock { $0.counts } }

    /// The page kept for `key`, when it was rendered from the listing at `version`.
    public func page(_ key: Key, at version: ListingVersion) -> Page? {
        state.withLock { state -> Page? in
            guard let page = state.pages[key], page.version == version else {
                state.counts.misses += 1
                return nil
            }
            state.counts.hits += 1
            return page
        }
    }

    public func store(_ key: Key, _ page: Page) {
        state.withLock { state in
            if state.pages.updateValue(page, forKey: key) == nil, let forgotten = state.arrivals.admit(key) {
                state.pages[forgotten] = nil
            }
        }
    }
}
