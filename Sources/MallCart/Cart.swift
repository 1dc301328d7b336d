import Herald
import MallKernel
import MallOrderingEvents

/// A member's shopping cart: lines by SKU, in the order first added.
public struct Cart: AggregateRoot, Hashable {
    public static let streamType = "Cart"
    public static let maximumLines = 100
    public static let maximumQuantity = StockLine.maximumQuantity

    public let id: String
    public private(set) var lines: [StockLine] = []
    public var pendingEvents = PendingEvents()

    public init(memberID: String) { id = memberID }

    /// Sets a line's quantity (adding the line if new).
    public mutating func set(sku: String, quantity: Int) throws {
        guard (1...Self.maximumQuantity).contains(quantity) else {
            throw InvalidInput(field: "quantity", "must be within 1...\(Self.maximumQuantity)")
        }
        if let index = lines.firstIndex(where: { $0.sku == sku }) {
            lines[index].quantity = quantity
        } else {
            guard lines.count < Self.maximumLines else { throw InvalidInput(field: "sku", "a cart holds at most \(Self.maximumLines) lines") }
            lines.append(StockLine(sku: sku, quantity: quantity))
        }
    }

    public mutating func remove(sku: String) {
        lines.removeAll { $0.sku == sku }
    }

    /// Takes ordered quantities out of the cart.
    mutating func checkOut(_ ordered: [StockLine]) {
        for line in ordered {
            guard let index = lines.firstIndex(where: { $0.sku == line.sku }) else { continue }
            lines[index].quantity -= line.quantity
            if lines[index].quantity <= 0 { lines.remove(at: index) }
        }
    }
}

/// The Cart context's use cases. Prices come from Pricing, composed by the application.
public struct CartService: Sendable {
    let engine: HeraldEngine

    public init(engine: HeraldEngine) { self.engine = engine }

    /// The member's cart, read through `work` when given (a step that reads it among other
    /// things, as placing an order does), else on its own.
    public func cart(memberID: String, reading work: UnitOfWork? = nil) async throws -> Cart {
        try await (work ?? engine.unitOfWork()).load(Cart.self, id: memberID) ?? Cart(memberID: memberID)
    }

    @discardableResult
    public func set(memberID: String, sku: String, quantity: Int) async throws -> Cart {
        try await change(memberID: memberID) { try $0.set(sku: sku, quantity: quantity) }
    }

    @discardableResult
    public func remove(memberID: String, sku: String) async throws -> Cart {
        try await change(memberID: memberID) { $0.remove(sku: sku) }
    }

    private func change(memberID: String, _ body: @escaping (inout Cart) throws -> Void) async throws -> Cart {
        try await engine.perform { work in
            var cart = try await work.load(Cart.self, id: memberID) ?? Cart(memberID: memberID)
            try body(&cart)
            let result = cart
            try work.save(&cart)
            return result
        }
    }
}
