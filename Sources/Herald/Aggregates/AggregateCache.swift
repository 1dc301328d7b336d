import Foundation
import Synchronization

/// Decoded aggregates by stream, shared by the units of work of one engine.
///
/// A unit of work that reads a document it has decoded (or written) before reuses that
/// value instead of decoding the JSON again. The row is still read (a load always sees the
/// current version), and the value is reused only when the stored version and bytes are
/// the very ones it came from: a version number alone does not identify a document, since
/// a pruned aggregate (``HeraldEngine/pruneDocuments(ofType:writtenBefore:batchSize:)``)
/// starts again at version 1. Comparing the bytes costs far less than decoding them. Read-mostly documents — price lists,
/// sessions, catalog indexes — are where this pays.
///
/// Holds at most `capacity` aggregates; beyond that the one cached longest ago makes room
/// (first in, first out, in constant time).
public final class AggregateCache: Sendable {
    private struct Entry {
        var version: Int64
        var state: Data
        var value: any AggregateRoot
    }

    private struct Entries {
        var byStream: [StreamID: Entry] = [:]
        var arrivals: ArrivalRing<StreamID>
    }

    public let capacity: Int
    private let entries: Mutex<Entries>

    public init(capacity: Int = 10_000) {
        precondition(capacity >= 0, "AggregateCache capacity must not be negative")
        self.capacity = capacity
        entries = Mutex(Entries(arrivals: ArrivalRing(capacity: capacity)))
    }

    /// The value of `stream` decoded from `state` at `version`, if cached and of type `A`.
    func value<A: AggregateRoot>(_ type: A.Type, stream: StreamID, version: Int64, state: Data) -> A? {
        entries.withLock { entries in
            guard let entry = entries.byStream[stream], entry.version == version, entry.state == state else { return nil }
            return entry.value as? A
        }
    }

    func store(_ value: any AggregateRoot, stream: StreamID, version: Int64, state: Data) {
        guard capacity > 0 else { return }
        entries.withLock { entries in
            // Not the dictionary's first entry: that is where new streams land as often as
            // anywhere, so the newest went first.
            if entries.byStream[stream] == nil, let evicted = entries.arrivals.admit(stream) { entries.byStream[evicted] = nil }
            entries.byStream[stream] = Entry(version: version, state: state, value: value)
        }
    }

    /// How many aggregates are cached.
    public var count: Int { entries.withLock { $0.byStream.count } }
}
