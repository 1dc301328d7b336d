import Foundation
import Herald
import MallKernel

/// A member's open orders (submitted or awaiting payment), which the limit on unpaid
/// orders counts: never more than that limit, and checked in the same transaction that
/// stores an order. (The member's whole history is ``OrderHistory``, a projection.)
struct MemberOrders: AggregateRoot {
    static let streamType = "MemberOrders"
    let id: String
    /// Orders submitted or awaiting payment; one leaves when it is paid or cancelled.
    private(set) var open: [String] = []
    var pendingEvents = PendingEvents()

    init(memberID: String) { id = memberID }

    /// Counts an order as open, unless the member already has `limit` open ones.
    mutating func open(_ orderID: String, limit: Int) throws {
        guard open.count < limit else { throw OrderProblem.tooManyOpenOrders(limit: limit) }
        open.append(orderID)
    }

    /// An order is no longer open; whether it was.
    mutating func close(_ orderID: String) -> Bool {
        guard let index = open.firstIndex(of: orderID) else { return false }
        open.remove(at: index)
        return true
    }

    private enum CodingKeys: String, CodingKey { case id, open }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        // Documents from before the history moved to OrderHistory also hold the ids of every
        // order (`recent`, `orderIDs`); they are ignored, and dropped on the next save.
        open = try container.decodeIfPresent([String].self, forKey: .open) ?? []
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(open, forKey: .open)
    }
}
