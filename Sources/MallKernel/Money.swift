import Herald

/// An amount of money in integer minor units (cents, fen) of one currency.
///
/// Never floating point: every price, discount and total in Mall is a `Money`. Sums and
/// products are checked: adding amounts of different currencies, or going beyond what
/// `Int64` holds, throws ``DataIntegrityError`` (the shop has one currency and bounded
/// prices, checked where they enter; only damaged stored data gets here) instead of
/// trapping the process.
///
/// Rounding: percentages are applied with ``Rate/portion(of:)``, which rounds half up to a
/// whole minor unit (12.5 cents → 13 cents); see ``Rate``.
public struct Money: Codable, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Amount in minor units (1/100 of the currency for the currencies Mall accepts).
    public var minorUnits: Int64
    /// ISO 4217 code, e.g. `"USD"`.
    public var currency: String

    public init(minorUnits: Int64, currency: String) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    public static func zero(_ currency: String) -> Money { Money(minorUnits: 0, currency: currency) }

    public var isZero: Bool { minorUnits == 0 }
    public var isNegative: Bool { minorUnits < 0 }

    /// - Throws: ``DataIntegrityError`` for two currencies or an overflow.
    public static func + (lhs: Money, rhs: Money) throws -> Money {
        try checked(lhs, rhs, "+") { $0.addingReportingOverflow($1) }
    }

    /// - Throws: ``DataIntegrityError`` for two currencies or an overflow.
    public static func - (lhs: Money, rhs: Money) throws -> Money {
        try checked(lhs, rhs, "−") { $0.subtractingReportingOverflow($1) }
    }

    public static func += (lhs: inout Money, rhs: Money) throws { lhs = try lhs + rhs }
    public static func -= (lhs: inout Money, rhs: Money) throws { lhs = try lhs - rhs }

    /// - Throws: ``DataIntegrityError`` on overflow.
    public static func * (lhs: Money, rhs: Int) throws -> Money {
        let (product, overflow) = lhs.minorUnits.multipliedReportingOverflow(by: Int64(rhs))
        guard !overflow else { throw DataIntegrityError("\(lhs) × \(rhs) is beyond what an amount can hold") }
        return Money(minorUnits: product, currency: lhs.currency)
    }

    private static func checked(_ lhs: Money, _ rhs: Money, _ operation: String, _ body: (Int64, Int64) -> (partialValue: Int64, overflow: Bool)) throws -> Money {
        guard lhs.currency == rhs.currency else { throw DataIntegrityError("\(lhs) \(operation) \(rhs): two currencies in one sum") }
        let (value, overflow) = body(lhs.minorUnits, rhs.minorUnits)
        guard !overflow else { throw DataIntegrityError("\(lhs) \(operation) \(rhs) is beyond what an amount can hold") }
        return Money(minorUnits: value, currency: lhs.currency)
    }

    /// By amount within one currency. Amounts of different currencies (which a sum would
    /// refuse) order by currency code, so sorting never traps.
    public static func < (lhs: Money, rhs: Money) -> Bool {
        lhs.currency == rhs.currency ? lhs.minorUnits < rhs.minorUnits : lhs.currency < rhs.currency
    }

    /// The smaller of two amounts.
    public func capped(at limit: Money) -> Money { min(self, limit) }

    /// `"USD 12.34"`.
    public var description: String {
        let sign = minorUnits < 0 ? "-" : ""
        let magnitude = minorUnits.magnitude
        let cents = magnitude % 100
        return "\(currency) \(sign)\(magnitude / 100).\(cents < 10 ? "0" : "")\(cents)"
    }
}

/// A proportion in basis points (1/100 of a percent): `Rate(percent: 12.5)` is 1250.
///
/// ``portion(of:)`` multiplies exactly in integers and rounds half up to a whole minor
/// unit, the one rounding rule of Mall's pricing.
public struct Rate: Codable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public var basisPoints: Int

    public init(basisPoints: Int) { self.basisPoints = basisPoints }
    public init(percent: Int) { self.basisPoints = percent * 100 }

    public static let zero = Rate(basisPoints: 0)
    public static let whole = Rate(basisPoints: 10_000)

    /// Whether the rate is a usable discount: more than 0 %, at most 100 %.
    public var isValidDiscount: Bool { basisPoints > 0 && basisPoints <= 10_000 }

    /// `amount × rate`, rounded half up to a minor unit (for non-negative amounts).
    ///
    /// - Throws: ``DataIntegrityError`` when the product is beyond what an amount can hold.
    public func portion(of amount: Money) throws -> Money {
        let (product, overflow) = amount.minorUnits.multipliedReportingOverflow(by: Int64(basisPoints))
        guard !overflow, product <= Int64.max - 5_000 else { throw DataIntegrityError("\(self) of \(amount) is beyond what an amount can hold") }
        return Money(minorUnits: (product + 5_000) / 10_000, currency: amount.currency)
    }

    public static func < (lhs: Rate, rhs: Rate) -> Bool { lhs.basisPoints < rhs.basisPoints }

    public var description: String {
        basisPoints % 100 == 0 ? "\(basisPoints / 100)%" : "\(Double(basisPoints) / 100)%"
    }
}

/// Stored or received data that breaks an invariant the code relies on: two currencies in
/// one sum, an amount beyond `Int64`, a reservation line of a SKU listed twice, more stock
/// released than held. It comes from damaged records or a bug, never from a well-formed
/// request; it names what is wrong instead of trapping the process.
///
/// A subscription dead-letters the event at once (retrying cannot fix it); a request gets a
/// 500 problem response naming it; the server keeps serving.
public struct DataIntegrityError: Error, CustomStringConvertible, Hashable, Sendable, PermanentFailure {
    public var description: String

    public init(_ description: String) { self.description = description }
}
