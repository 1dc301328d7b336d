/// Which keys a bounded table holds, in the order they came in: when the table is full, a
/// new key takes the place of the oldest, in constant time (first in, first out).
///
/// ```swift
/// var arrivals = ArrivalRing<String>(capacity: 10_000)
/// if let evicted = arrivals.admit(key) { table[evicted] = nil }
/// table[key] = value
/// ```
public struct ArrivalRing<Key: Hashable & Sendable>: Sendable {
    public let capacity: Int
    private var keys: [Key] = []
    /// The oldest key's place once the ring is full.
    private var next = 0

    public init(capacity: Int) {
        precondition(capacity >= 0, "ArrivalRing capacity must not be negative")
        self.capacity = capacity
    }

    /// Records a key not held yet; returns the key it displaced, if the ring was full.
    /// (With no capacity, the key itself comes back: nothing can be held.)
    public mutating func admit(_ key: Key) -> Key? {
        guard capacity > 0 else { return key }
        guard keys.count == capacity else {
            keys.append(key)
            return nil
        }
        let evicted = keys[next]
        keys[next] = key
        next = (next + 1) % capacity
        return evicted
    }
}
