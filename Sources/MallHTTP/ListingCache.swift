import Herald
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
/// queries, twenty rows decoded and encoded), the version one small read (BENCHMARKS.md,
/// "Read side — issue 12, fourth session").
///
/// Bounded: at most `capacity` pages. When full, the pages of other versions go first, then
/// half of the rest, whichever they are.
final class ListingCache: Sendable {
    struct Page: Sendable {
        var version: ProjectionVersion
        var body: ByteBuffer
    }

    let capacity: Int
    private let pages = Mutex<[Key: Page]>([:])
    private let tally = Mutex(Counts())

    /// Requests answered with a kept page, and requests that rendered theirs.
    struct Counts: Sendable, Hashable {
        var hits = 0
        var misses = 0
    }

    /// What a page depends on besides the listing: the request's search, after the switches.
    struct Key: Hashable, Sendable {
        var category: String?
        var text: String?
        var sort: String
        var page: Int
        /// Served in place of a text search by the search-degraded switch.
        var degraded: Bool
    }

    init(capacity: Int) {
        self.capacity = capacity
    }

    var count: Int { pages.withLock { $0.count } }

    /// Hits and misses so far (for `/metrics`).
    var counts: Counts { tally.withLock { $0 } }

    /// The page kept for `key`, when it was rendered from the listing at `version`.
    func page(_ key: Key, at version: ProjectionVersion) -> Page? {
        let kept = pages.withLock { pages -> Page? in
            guard let page = pages[key], page.version == version else { return nil }
            return page
        }
        tally.withLock { if kept == nil { $0.misses += 1 } else { $0.hits += 1 } }
        return kept
    }

    func store(_ key: Key, _ page: Page) {
        pages.withLock { pages in
            if pages[key] == nil, pages.count >= capacity {
                pages = pages.filter { $0.value.version == page.version }
                if pages.count >= capacity { pages = Dictionary(uniqueKeysWithValues: pages.prefix(capacity / 2).map { ($0.key, $0.value) }) }
            }
            pages[key] = page
        }
    }
}
