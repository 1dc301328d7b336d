import MallKernel

// The API's wire types: what a request or response body holds, declared here field by
// field (in the order the document lists them), and built from domain types explicitly,
// so renaming a field of the domain cannot change the API unnoticed.

/// An amount: integer minor units of a currency.
public struct MoneyBody: Codable, Hashable, Sendable {
    public var minorUnits: Int64
    public var currency: String

    public init(_ money: Money) {
        minorUnits = money.minorUnits
        currency = money.currency
    }

    public var money: Money { Money(minorUnits: minorUnits, currency: currency) }
}

/// A quantity of one SKU.
public struct LineBody: Codable, Hashable, Sendable {
    public var sku: String
    public var quantity: Int

    public init(_ line: StockLine) {
        sku = line.sku
        quantity = line.quantity
    }

    public var stockLine: StockLine { StockLine(sku: sku, quantity: quantity) }
}

public struct CountResponse: Encodable, Sendable {
    public var count: Int

    public init(count: Int) {
        self.count = count
    }
}

public struct IDResponse: Encodable, Sendable {
    public var id: String

    public init(id: String) {
        self.id = id
    }
}

extension MoneyBody: CustomStringConvertible {
    public var description: String { money.description }
}
