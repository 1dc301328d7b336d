import Herald
import MallInventoryEvents
import MallKernel

/// Stock of one SKU: on hand, and how much of it is held for orders.
///
/// Invariants, checked by every method: `onHand ≥ 0`, `reserved ≥ 0`,
/// `available = onHand − reserved ≥ 0`. Which orders hold what is recorded in each order's
/// ``Reservation`` (not here, so a stock document stays small however many orders are
/// open); reconciliation checks that `reserved` is the sum of the reserved reservations.
public struct Stock: AggregateRoot, Hashable {
    public static let streamType = "Stock"
    public static let maximumOnHand = 1_000_000_000

    public let id: String
    public private(set) var onHand = 0
    public private(set) var reserved = 0
    public var pendingEvents = PendingEvents()

    public init(sku: String) { id = sku }

    public var sku: String { id }
    public var available: Int { onHand - reserved }

    /// Goods arrived.
    /// - Throws: ``InvalidInput`` outside 1 ... ``maximumOnHand``; ``RuleViolation`` when the
    ///   stock would then pass ``maximumOnHand``.
    public mutating func receive(_ quantity: Int) throws {
        guard (1...Self.maximumOnHand).contains(quantity) else {
            throw InvalidInput(field: "quantity", "must be within 1...\(Self.maximumOnHand)")
        }
        guard quantity <= Self.maximumOnHand - onHand else {
            throw RuleViolation(field: "quantity", "\(onHand) on hand already; at most \(Self.maximumOnHand - onHand) more fit")
        }
        onHand += quantity
        record(StockReceived(sku: id, quantity: quantity, onHand: onHand))
    }

    func canReserve(_ quantity: Int) -> Bool { quantity >= 1 && quantity <= available }

    /// Holds `quantity` for an order.
    ///
    /// - Throws: ``DataIntegrityError`` when that much is not available (the reservation
    ///   checks first, so only damaged stored data gets here).
    mutating func hold(_ quantity: Int) throws {
        guard canReserve(quantity) else {
            throw DataIntegrityError("Stock/\(id): cannot hold \(quantity), \(available) available (on hand \(onHand), reserved \(reserved))")
        }
        reserved += quantity
    }

    /// Gives back a hold (the reservation knows it held `quantity`).
    ///
    /// - Throws: ``DataIntegrityError`` when less than that is reserved.
    mutating func releaseHold(_ quantity: Int) throws {
        guard quantity >= 0, quantity <= reserved else {
            throw DataIntegrityError("Stock/\(id): cannot release \(quantity), only \(reserved) reserved")
        }
        reserved -= quantity
    }

    /// Held goods leave the warehouse.
    ///
    /// - Throws: ``DataIntegrityError`` when less than that is reserved or on hand.
    mutating func commitHold(_ quantity: Int) throws {
        guard quantity >= 0, quantity <= reserved, quantity <= onHand else {
            throw DataIntegrityError("Stock/\(id): cannot ship \(quantity), \(reserved) reserved and \(onHand) on hand")
        }
        reserved -= quantity
        onHand -= quantity
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
    ///
    /// - Throws: ``DataIntegrityError`` for lines that list a SKU twice or a quantity below 1
    ///   (an order never has them: a damaged or forged event), or stock missing from `stocks`.
    static func reserve(orderID: String, lines: [StockLine], stocks: inout [String: Stock]) throws -> Reservation {
        try validate(lines, of: orderID)
        let shortages = lines.filter { !(stocks[$0.sku]?.canReserve($0.quantity) ?? false) }
            .map { StockLine(sku: $0.sku, quantity: stocks[$0.sku]?.available ?? 0) }
        var reservation = Reservation(id: orderID, lines: lines, status: shortages.isEmpty ? .reserved : .failed)
        if shortages.isEmpty {
            for line in lines {
                guard var stock = stocks[line.sku] else { throw DataIntegrityError("order \(orderID): no stock loaded for \(line.sku)") }
                try stock.hold(line.quantity)
                stocks[line.sku] = stock
            }
            reservation.record(StockReserved(orderID: orderID, lines: lines))
        } else {
            let detail = shortages.map { "\($0.sku): \($0.quantity) available" }.joined(separator: ", ")
            reservation.record(StockReservationFailed(orderID: orderID, shortages: shortages, reason: "not enough stock (\(detail))"))
        }
        return reservation
    }

    mutating func release(stocks: inout [String: Stock]) throws {
        guard status == .reserved else { return }
        for line in lines { try stocks[line.sku]?.releaseHold(line.quantity) }
        status = .released
        record(StockReleased(orderID: orderID, lines: lines))
    }

    mutating func commit(stocks: inout [String: Stock]) throws {
        guard status == .reserved else { return }
        for line in lines { try stocks[line.sku]?.commitHold(line.quantity) }
        status = .committed
        record(StockCommitted(orderID: orderID, lines: lines))
    }

    private static func validate(_ lines: [StockLine], of orderID: String) throws {
        var seen = Set<String>()
        for line in lines {
            guard seen.insert(line.sku).inserted else { throw DataIntegrityError("order \(orderID) lists \(line.sku) twice") }
            guard line.quantity >= 1 else { throw DataIntegrityError("order \(orderID) asks for \(line.quantity) of \(line.sku)") }
        }
    }
}
