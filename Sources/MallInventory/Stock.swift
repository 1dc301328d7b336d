import Herald
import MallEvents

/// Stock of one SKU: on hand, and the quantities held for orders.
///
/// Invariants, checked by every method: `onHand ≥ 0`, `reserved ≥ 0`,
/// `available = onHand − reserved ≥ 0`, and `reserved` is the sum of ``holds``.
public struct Stock: AggregateRoot, Hashable {
    public static let streamType = "Stock"
    public static let maximumOnHand = 1_000_000_000

    public let id: String
    public private(set) var onHand = 0
    /// Quantity held per order.
    public private(set) var holds: [String: Int] = [:]
    public var pendingEvents = PendingEvents()

    public init(sku: String) { id = sku }

    public var sku: String { id }
    public var reserved: Int { holds.values.reduce(0, +) }
    public var available: Int { onHand - reserved }

    /// Goods arrived.
    public mutating func receive(_ quantity: Int) throws {
        guard quantity >= 1, quantity <= Self.maximumOnHand - onHand else {
            throw InvalidInput(field: "quantity", "must be within 1...\(Self.maximumOnHand - onHand)")
        }
        onHand += quantity
        record(StockReceived(sku: id, quantity: quantity, onHand: onHand))
    }

    func canReserve(_ quantity: Int) -> Bool { quantity >= 1 && quantity <= available }

    mutating func hold(_ quantity: Int, for orderID: String) {
        precondition(canReserve(quantity) && holds[orderID] == nil, "hold checked by Reservation")
        holds[orderID] = quantity
    }

    /// Gives back an order's hold; returns what it held.
    mutating func releaseHold(of orderID: String) -> Int {
        holds.removeValue(forKey: orderID) ?? 0
    }

    /// The held goods leave the warehouse.
    mutating func commitHold(of orderID: String) -> Int {
        let quantity = holds.removeValue(forKey: orderID) ?? 0
        onHand -= quantity
        return quantity
    }
}

/// One order's reservation across SKUs: the record that it holds all its lines or none,
/// and the stream its `StockReserved` / `StockReleased` / `StockCommitted` events go to.
public struct Reservation: AggregateRoot, Hashable {
    public static let streamType = "Reservation"

    public enum Status: String, Codable, Hashable, Sendable { case reserved, failed, released, committed }

    public let id: String
    public private(set) var lines: [StockLine]
    public private(set) var status: Status
    public var pendingEvents = PendingEvents()

    public var orderID: String { id }

    /// Reserves every line of an order, or none (recording why).
    static func reserve(orderID: String, lines: [StockLine], stocks: inout [String: Stock]) -> Reservation {
        let shortages = lines.filter { !(stocks[$0.sku]?.canReserve($0.quantity) ?? false) }
            .map { StockLine(sku: $0.sku, quantity: stocks[$0.sku]?.available ?? 0) }
        var reservation = Reservation(id: orderID, lines: lines, status: shortages.isEmpty ? .reserved : .failed)
        if shortages.isEmpty {
            for line in lines { stocks[line.sku]!.hold(line.quantity, for: orderID) }
            reservation.record(StockReserved(orderID: orderID, lines: lines))
        } else {
            let detail = shortages.map { "\($0.sku): \($0.quantity) available" }.joined(separator: ", ")
            reservation.record(StockReservationFailed(orderID: orderID, shortages: shortages, reason: "not enough stock (\(detail))"))
        }
        return reservation
    }

    mutating func release(stocks: inout [String: Stock]) {
        guard status == .reserved else { return }
        for line in lines { _ = stocks[line.sku]?.releaseHold(of: orderID) }
        status = .released
        record(StockReleased(orderID: orderID, lines: lines))
    }

    mutating func commit(stocks: inout [String: Stock]) {
        guard status == .reserved else { return }
        for line in lines { _ = stocks[line.sku]?.commitHold(of: orderID) }
        status = .committed
        record(StockCommitted(orderID: orderID, lines: lines))
    }
}
