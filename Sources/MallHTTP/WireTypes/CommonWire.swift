import MallKernel

// The API's wire types: what a request or response body holds, declared here field by
// field (in the order the document lists them), and built from domain types explicitly,
// so renaming a field of the domain cannot change the API unnoticed.

/// An amount: integer minor units of a currency.
struct MoneyBody: Codable, Hashable {
    var minorUnits: Int64
    var currency: String

    init(_ money: Money) {
        minorUnits = money.minorUnits
        currency = money.currency
    }

    var money: Money { Money(minorUnits: minorUnits, currency: currency) }
}

/// A quantity of one SKU.
struct LineBody: Codable, Hashable {
    var sku: String
    var quantity: Int

    init(_ line: StockLine) {
        sku = line.sku
        quantity = line.quantity
    }

    var stockLine: StockLine { StockLine(sku: sku, quantity: quantity) }
}

struct CountResponse: Encodable { var count: Int }
struct IDResponse: Encodable { var id: String }
