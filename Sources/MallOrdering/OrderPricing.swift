import MallKernel

/// What an order costs, as agreed when it was placed: Ordering's own record of the price,
/// every line with its list price and the discounts taken off it, the freight and the
/// total. It never changes afterwards, whatever happens to prices and promotions.
///
/// Ordering does not depend on how Pricing computes a price (the application layer copies
/// Pricing's quote into it); a discount's kind is kept as the text Pricing gave it.
/// `total = goodsTotal + freight` and `goodsTotal = listTotal − discountTotal`.
public struct OrderPricing: Codable, Hashable, Sendable {
    /// One discount on a line or on the order, named after the rule that gave it.
    public struct Adjustment: Codable, Hashable, Sendable {
        public var rule: String
        public var kind: String
        /// The amount taken off (positive).
        public var amount: Money

        public init(rule: String, kind: String, amount: Money) {
            self.rule = rule
            self.kind = kind
            self.amount = amount
        }
    }

    public struct Line: Codable, Hashable, Sendable {
        public var sku: String
        public var title: String
        public var quantity: Int
        public var unitListPrice: Money
        public var listAmount: Money
        public var adjustments: [Adjustment]
        /// What this line costs.
        public var netAmount: Money

        public init(sku: String, title: String, quantity: Int, unitListPrice: Money, listAmount: Money, adjustments: [Adjustment], netAmount: Money) {
            self.sku = sku
            self.title = title
            self.quantity = quantity
            self.unitListPrice = unitListPrice
            self.listAmount = listAmount
            self.adjustments = adjustments
            self.netAmount = netAmount
        }
    }

    public var currency: String
    public var lines: [Line]
    /// Each rule's discount over the whole order.
    public var discounts: [Adjustment]
    public var listTotal: Money
    public var discountTotal: Money
    public var goodsTotal: Money
    public var freight: Money
    public var freightRule: String
    public var total: Money
    public var couponCode: String?

    public init(
        currency: String, lines: [Line], discounts: [Adjustment], listTotal: Money, discountTotal: Money,
        goodsTotal: Money, freight: Money, freightRule: String, total: Money, couponCode: String?
    ) {
        self.currency = currency
        self.lines = lines
        self.discounts = discounts
        self.listTotal = listTotal
        self.discountTotal = discountTotal
        self.goodsTotal = goodsTotal
        self.freight = freight
        self.freightRule = freightRule
        self.total = total
        self.couponCode = couponCode
    }
}
