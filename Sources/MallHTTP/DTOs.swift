import Foundation
import Herald
import MallApp
import MallCatalog
import MallEvents
import MallOrdering
import MallPayment
import MallPricing

// The API's request and response bodies, where they differ from the domain's own types.

struct RegisterRequest: Decodable { var email: String; var password: String; var name: String }
struct RegisterResponse: Encodable { var id: String }
struct SessionRequest: Decodable { var email: String; var password: String }
struct SessionResponse: Encodable { var token: String; var memberId: String }
struct QuantityRequest: Decodable { var quantity: Int }
struct ClaimCouponRequest: Decodable { var campaignId: String }
struct CouponCodeResponse: Encodable { var code: String }

struct CouponDTO: Encodable {
    var code: String
    var campaignId: String
    var status: String
    var orderId: String?

    init(_ coupon: CouponWallet.Coupon) {
        code = coupon.code
        campaignId = coupon.campaignID
        status = coupon.status.rawValue
        orderId = coupon.orderID
    }
}

struct ProductPage: Encodable {
    var items: [ProductSummary]
    var page: Int
    var pageSize: Int
    var total: Int
}

struct OrderDTO: Encodable {
    var id: String
    var status: String
    var lines: [PriceQuote.Line]
    var quote: PriceQuote
    var address: Address
    var paymentMethod: String
    var delivery: String
    var submittedAt: Date
    var paymentDeadline: Date?
    var paymentId: String?
    var cancellation: Order.Cancellation?
    var timeline: [Order.TimelineEntry]

    init(_ order: Order) {
        id = order.id
        status = order.status.rawValue
        lines = order.quote.lines
        quote = order.quote
        address = order.address
        paymentMethod = order.paymentMethod
        delivery = order.delivery
        submittedAt = order.submittedAt
        paymentDeadline = order.paymentDeadline
        paymentId = order.paymentID
        cancellation = order.cancellation
        timeline = order.timeline
    }
}

struct OrderSummaryDTO: Encodable {
    var id: String
    var status: String
    var total: Money
    var submittedAt: Date

    init(_ order: Order) {
        id = order.id
        status = order.status.rawValue
        total = order.total
        submittedAt = order.submittedAt
    }
}

struct PaymentStarted: Encodable { var paymentId: String; var amount: Money }
/// The body of `POST /payment-gateway/callbacks`: the gateway's signed report, where
/// `signature` is hex HMAC-SHA256 over
/// `"<timestamp>.<paymentId>.<outcome>.<amount.minorUnits>.<amount.currency>"`.
public struct GatewayCallback: Codable, Sendable {
    var paymentId: String
    var outcome: String
    var amount: Money
    /// Unix seconds.
    var timestamp: Int64
    var signature: String

    /// The body as JSON, keys in the order above.
    public func json() throws -> String { String(decoding: try JSON.encoder.encode(self), as: UTF8.self) }

    public init(_ report: GatewayReport, signature: String) {
        paymentId = report.paymentID
        outcome = report.outcome.rawValue
        amount = report.amount
        timestamp = report.timestamp
        self.signature = signature
    }

    func report() throws -> GatewayReport {
        guard let outcome = GatewayOutcome(rawValue: outcome) else { throw InvalidInput(field: "outcome", "one of succeeded, failed") }
        return GatewayReport(paymentID: paymentId, outcome: outcome, amount: amount, timestamp: timestamp)
    }
}
struct CallbackResult: Encodable { var paymentId: String; var orderId: String; var status: String }

struct ProductRequest: Decodable {
    var sku: String?
    var title: String
    var category: String
    var description: String?
    var weightGrams: Int
    var price: Money
}

struct StockReceipt: Decodable { var quantity: Int }
struct StockDTO: Encodable { var sku: String; var onHand: Int; var reserved: Int; var available: Int }
struct LevelRequest: Decodable { var level: MemberLevel }
struct IssueCouponRequest: Decodable { var memberId: String }

/// A coupon campaign as the admin API takes it: exactly one of `amountOff` or
/// `percentOffBasisPoints`; an optional scope by categories or SKUs.
struct CampaignRequest: Decodable {
    var id: String
    var name: String
    var amountOff: Money?
    var percentOffBasisPoints: Int?
    var cap: Money?
    var minimumSpend: Money
    var categories: [String]?
    var skus: [String]?
    var validFrom: Date?
    var validUntil: Date?
    var perMemberLimit: Int?

    func terms() throws -> CouponTerms {
        let benefit: CouponTerms.Benefit
        switch (amountOff, percentOffBasisPoints) {
        case (let amount?, nil): benefit = .amountOff(amount)
        case (nil, let basisPoints?): benefit = .percentOff(Rate(basisPoints: basisPoints), cap: cap)
        default: throw InvalidInput(field: "amountOff", "give exactly one of amountOff and percentOffBasisPoints")
        }
        return CouponTerms(
            benefit: benefit, minimumSpend: minimumSpend, scope: try scope(categories: categories, skus: skus),
            window: try window(from: validFrom, until: validUntil), perMemberLimit: perMemberLimit ?? 1)
    }
}

/// A promotion as the admin API takes it; `kind` selects which fields matter.
struct PromotionRequest: Decodable {
    enum Kind: String, Decodable { case productDiscount, spendAndSave, quantityDiscount, cheapestFree }
    var id: String
    var name: String
    var kind: Kind
    var sku: String?
    var rateBasisPoints: Int?
    var threshold: Money?
    var saving: Money?
    var repeating: Bool?
    var minimumItems: Int?
    var groupSize: Int?
    var freeItems: Int?
    var categories: [String]?
    var skus: [String]?
    var validFrom: Date?
    var validUntil: Date?

    func promotion() throws -> Promotion {
        func need<T>(_ value: T?, _ field: String) throws -> T {
            guard let value else { throw InvalidInput(field: field, "is required for kind \(kind.rawValue)") }
            return value
        }
        let scope = try scope(categories: categories, skus: skus)
        let rule: Promotion.Rule = switch kind {
        case .productDiscount: .productDiscount(sku: try need(sku, "sku"), rate: Rate(basisPoints: try need(rateBasisPoints, "rateBasisPoints")))
        case .spendAndSave: .spendAndSave(scope: scope, threshold: try need(threshold, "threshold"), saving: try need(saving, "saving"), repeating: repeating ?? false)
        case .quantityDiscount: .quantityDiscount(scope: scope, minimumItems: try need(minimumItems, "minimumItems"), rate: Rate(basisPoints: try need(rateBasisPoints, "rateBasisPoints")))
        case .cheapestFree: .cheapestFree(scope: scope, groupSize: try need(groupSize, "groupSize"), freeItems: try need(freeItems, "freeItems"))
        }
        guard (1...64).contains(id.utf8.count), id.utf8.allSatisfy({ $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") }) else {
            throw InvalidInput(field: "id", "1 to 64 letters, digits or '-'")
        }
        return Promotion(id: id, name: name, rule: rule, window: try window(from: validFrom, until: validUntil))
    }
}

private func scope(categories: [String]?, skus: [String]?) throws -> ProductScope {
    switch (categories, skus) {
    case (nil, nil): return .allProducts
    case (let categories?, nil): return .categories(Set(categories.map { $0.lowercased() }))
    case (nil, let skus?): return .skus(Set(skus))
    default: throw InvalidInput(field: "categories", "give categories or skus, not both")
    }
}

private func window(from: Date?, until: Date?) throws -> ValidityWindow {
    if let from, let until, until <= from { throw RuleViolation(field: "validUntil", "must be after validFrom") }
    return ValidityWindow(from: from, until: until)
}

struct DeadLetterDTO: Encodable {
    var subscription: String
    var position: Int64
    var eventId: String
    var eventType: String
    var stream: String
    var attempts: Int
    var lastError: String?
    var heldBehind: Int

    init(_ letter: DeadLetter) {
        subscription = letter.subscription
        position = letter.position
        eventId = letter.parked.eventID.uuidString
        eventType = letter.parked.eventType
        stream = letter.parked.stream.description
        attempts = letter.attempts
        lastError = letter.lastError
        heldBehind = letter.heldBehind
    }
}

/// Selects dead letters to replay or discard; no field selects all.
struct DeadLetterSelection: Decodable {
    var subscription: String?
    var position: Int64?
    var eventType: String?

    var filter: DeadLetters.Filter { DeadLetters.Filter(subscription: subscription, position: position, eventType: eventType) }
}

struct CountResponse: Encodable { var count: Int }
