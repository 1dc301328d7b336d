import MallKernel

/// Pricing's answer to "what does this cost?": every line with its list price and each
/// discount applied to it (by rule name), the freight, and the total.
///
/// Pricing publishes it (its calculator is the only producer); the cart shows it, and an
/// order keeps the quote it was placed at, unchanged whatever prices do afterwards. Every
/// amount is in ``currency``; `total = goodsTotal + freight` and
/// `goodsTotal = listTotal − discountTotal`.
public struct PriceQuote: Codable, Hashable, Sendable {
    /// One discount or charge, named after the rule that produced it.
    public struct Adjustment: Codable, Hashable, Sendable {
        public enum Kind: String, Codable, Hashable, Sendable {
            case productPromotion, groupPromotion, memberPrice, coupon
        }

        public var rule: String
        public var kind: Kind
        /// The amount taken off (positive).
        public var amount: Money

        public init(rule: String, kind: Kind, amount: Money) {
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
        /// `unitListPrice × quantity`.
        public var listAmount: Money
        /// The discounts on this line, in the order they were applied.
        public var adjustments: [Adjustment]
        /// `listAmount` minus every adjustment: what this line costs.
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
    /// Each rule's total discount over all lines, in the order the rules were applied.
    public var discounts: [Adjustment]
    public var listTotal: Money
    public var discountTotal: Money
    public var goodsTotal: Money
    public var freight: Money
    /// The freight rule that set ``freight`` (e.g. "Standard delivery, free over USD 99.00").
    public var freightRule: String
    public var total: Money
    /// The coupon applied, if any.
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

/// The delivery options a customer may choose (the quote's freight depends on it).
public enum DeliveryOption: String, Codable, Hashable, Sendable, CaseIterable {
    case standard, express
}
