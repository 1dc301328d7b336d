import Synchronization

/// Decoded aggregates by stream and version, shared by the units of work of one engine.
///
/// A stored version of an aggregate never changes, so a unit of work that reads version
/// *v* of a stream can reuse the value decoded the last time *v* was read or written,
/// instead of decoding the JSON document again. The row is still read (a load always sees
/// the current version); only the decoding is saved. Read-mostly documents — price lists,
/// sessions, catalog indexes — are where this pays.
///
/// Holds at most `capacity` aggregates; beyond that the one cached longest ago makes room
/// (first in, first out, in constant time).
public final class AggregateCache: Sendable {
    private struct Entry {
        var version: Int64
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

    /// The value of `stream` at `version`, if cached and of type `A`.
    func value<A: AggregateRoot>(_ type: A.Type, stream: StreamID, version: Int64) -> A? {
        entries.withLock { entries in
            guard let entry = entries.byStream[stream], entry.version == version else { return nil }
            return entry.value as? A
        }
    }

    func store(_ value: any AggregateRoot, stream: StreamID, version: Int64) {
        guard capacity > 0 else { return }
        entries.withLock { entries in
            // Not the dictionary's first entry: that is where new streams land as often as
            // anywhere, so the newest went first.
            if entries.byStream[stream] == nil, let evicted = entries.arrivals.admit(stream) { entries.byStream[evicted] = nil }
            entries.byStream[stream] = Entry(version: version, value: value)
        }
    }

    /// How many aggregates are cached.
    public var count: Int { entries.withLock { $0.byStream.count } }
}
