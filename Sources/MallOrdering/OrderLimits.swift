import MallKernel

/// How much one member may ask of the shop at once.
public struct OrderLimits: Sendable, Hashable {
    /// Orders submitted or awaiting payment at once, per member.
    public var openOrdersPerMember: Int
    /// Units of one SKU in one order (lines of the same SKU count together).
    public var quantityPerSKU: Int

    public init(openOrdersPerMember: Int = 5, quantityPerSKU: Int = 20) {
        self.openOrdersPerMember = openOrdersPerMember
        self.quantityPerSKU = quantityPerSKU
    }

    /// - Throws: ``OrderProblem/quantityLimit(sku:quantity:limit:)`` for the first SKU whose
    ///   lines together ask for more than ``quantityPerSKU``.
    public func check(_ lines: [StockLine]) throws {
        var totals: [String: Int] = [:]
        for line in lines {
            let total = totals[line.sku, default: 0] &+ line.quantity
            totals[line.sku] = total
            guard total <= quantityPerSKU else { throw OrderProblem.quantityLimit(sku: line.sku, quantity: total, limit: quantityPerSKU) }
        }
    }
}
