/// An amount of money in integer minor units (cents, fen) of one currency.
///
/// Never floating point: every price, discount and total in Mall is a `Money`. Adding or
/// comparing amounts of different currencies is a programming error (the shop has one
/// currency, checked where prices enter the system), so those operations trap.
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

    public static func + (lhs: Money, rhs: Money) -> Money {
        precondition(lhs.currency == rhs.currency, "adding \(lhs.currency) to \(rhs.currency)")
        return Money(minorUnits: lhs.minorUnits + rhs.minorUnits, currency: lhs.currency)
    }

    public static func - (lhs: Money, rhs: Money) -> Money {
        precondition(lhs.currency == rhs.currency, "subtracting \(rhs.currency) from \(lhs.currency)")
        return Money(minorUnits: lhs.minorUnits - rhs.minorUnits, currency: lhs.currency)
    }

    public static func += (lhs: inout Money, rhs: Money) { lhs = lhs + rhs }
    public static func -= (lhs: inout Money, rhs: Money) { lhs = lhs - rhs }

    public static func * (lhs: Money, rhs: Int) -> Money {
        Money(minorUnits: lhs.minorUnits * Int64(rhs), currency: lhs.currency)
    }

    public static func < (lhs: Money, rhs: Money) -> Bool {
        precondition(lhs.currency == rhs.currency, "comparing \(lhs.currency) with \(rhs.currency)")
        return lhs.minorUnits < rhs.minorUnits
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
    public func portion(of amount: Money) -> Money {
        let product = amount.minorUnits * Int64(basisPoints)
        return Money(minorUnits: (product + 5_000) / 10_000, currency: amount.currency)
    }

    public static func < (lhs: Rate, rhs: Rate) -> Bool { lhs.basisPoints < rhs.basisPoints }

    public var description: String {
        basisPoints % 100 == 0 ? "\(basisPoints / 100)%" : "\(Double(basisPoints) / 100)%"
    }
}
