import Herald
import MallKernel

/// Goods arrived: on hand grew by `quantity`.
public struct StockReceived: DomainEvent {
    public static let eventType = "StockReceived"
    public var sku: String
    public var quantity: Int
    public var onHand: Int

    public init(sku: String, quantity: Int, onHand: Int) {
        self.sku = sku
        self.quantity = quantity
        self.onHand = onHand
    }
}

/// Every line of an order is reserved (all or none).
public struct StockReserved: DomainEvent {
    public static let eventType = "StockReserved"
    public var orderID: String
    public var lines: [StockLine]

    public init(orderID: String, lines: [StockLine]) {
        self.orderID = orderID
        self.lines = lines
    }
}

/// An order could not be reserved; nothing of it is held.
public struct StockReservationFailed: DomainEvent {
    public static let eventType = "StockReservationFailed"
    public var orderID: String
    /// The lines short of stock, with the quantity that was available.
    public var shortages: [StockLine]
    public var reason: String

    public init(orderID: String, shortages: [StockLine], reason: String) {
        self.orderID = orderID
        self.shortages = shortages
        self.reason = reason
    }
}

/// An order's reservation was given back (order cancelled).
public struct StockReleased: DomainEvent {
    public static let eventType = "StockReleased"
    public var orderID: String
    public var lines: [StockLine]

    public init(orderID: String, lines: [StockLine]) {
        self.orderID = orderID
        self.lines = lines
    }
}

/// An order's reserved stock left the warehouse (order shipped): on hand and reserved fell.
public struct StockCommitted: DomainEvent {
    public static let eventType = "StockCommitted"
    public var orderID: String
    public var lines: [StockLine]

    public init(orderID: String, lines: [StockLine]) {
        self.orderID = orderID
        self.lines = lines
    }
}

/// The Inventory context's published language: the events other contexts may hear, registered under
/// their stable names by the application.
public enum InventoryEvents {
    public static let published: [any DomainEvent.Type] = [
        StockReceived.self, StockReserved.self, StockReservationFailed.self, StockReleased.self, StockCommitted.self,
    ]
}
