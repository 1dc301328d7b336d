import Foundation
import Herald
import MallKernel

/// Remembers which order an `Idempotency-Key` created, for which request, and the order
/// as that request's response showed it: a retry gets the same answer, whatever happened to
/// the order since.
struct IdempotencyRecord: AggregateRoot {
    static let streamType = "OrderIdempotency"
    let id: String
    var orderID: String
    var fingerprint: String
    /// The order as first created (`nil` in records written before it was kept).
    var created: Order?
    var pendingEvents = PendingEvents()
}

/// An `Idempotency-Key` and a fingerprint of the request it came with.
public struct IdempotencyKey: Sendable, Hashable {
    public var key: String
    public var fingerprint: String

    public init(key: String, fingerprint: String) throws {
        guard (1...128).contains(key.count), key.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw InvalidInput(field: "Idempotency-Key", "1 to 128 visible ASCII characters")
        }
        self.key = key
        self.fingerprint = fingerprint
    }
}
