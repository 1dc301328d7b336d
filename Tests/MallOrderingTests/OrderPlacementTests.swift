import Foundation
import Herald
import HeraldTesting
import MallKernel
@testable import MallOrdering
import MallOrderingEvents
import MallPricingEvents
import Synchronization
import Testing

/// Placing an order is one step of Ordering's: the idempotency key, the limits and the
/// quote are checked once, in the unit of work that stores the order, and Ordering reaches
/// prices and carts only through its ports.
@Suite struct OrderPlacementTests {
    static let address = MemberOrdersTests.address

    static func engine() -> HeraldEngine {
        var registry = EventRegistry()
        registry.register(OrderSubmitted.self)
        return HeraldEngine(store: InMemoryEventStore(), registry: registry)
    }

    static func request(_ lines: OrderRequest.Lines, coupon: String? = nil) -> OrderRequest {
        OrderRequest(lines: lines, address: address, paymentMethod: "card", couponCode: coupon)
    }

    @Test func aRetryUnderTheSameKeyIsAnsweredWithTheFirstOrderWithoutQuotingAgain() async throws {
        let ordering = OrderingService(engine: Self.engine())
        let quoting = FixedQuote()
        let key = try IdempotencyKey(key: "k-1", fingerprint: "request-a")
        let first = try await ordering.place(Self.request(.given([StockLine(sku: "tea", quantity: 1)])), memberID: "ada", idempotency: key, quoting: quoting, cart: NoCart())
        let retry = try await ordering.place(Self.request(.given([StockLine(sku: "tea", quantity: 1)])), memberID: "ada", idempotency: key, quoting: quoting, cart: NoCart())
        #expect(first.created && !retry.created)
        #expect(retry.order == first.order)
        #expect(quoting.calls == 1, "the retry found the record before asking for a price")

        let other = try IdempotencyKey(key: "k-1", fingerprint: "request-b")
        await #expect(throws: OrderProblem.idempotencyKeyReused("k-1")) {
            _ = try await ordering.place(Self.request(.given([StockLine(sku: "tea", quantity: 2)])), memberID: "ada", idempotency: other, quoting: quoting, cart: NoCart())
        }
        #expect(quoting.calls == 1)
    }

    @Test func linesOverTheLimitAreRefusedBeforeTheyArePriced() async throws {
        let ordering = OrderingService(engine: Self.engine(), limits: OrderLimits(openOrdersPerMember: 5, quantityPerSKU: 3))
        let quoting = FixedQuote()
        await #expect(throws: OrderProblem.quantityLimit(sku: "tea", quantity: 4, limit: 3)) {
            _ = try await ordering.place(
                Self.request(.given([StockLine(sku: "tea", quantity: 2), StockLine(sku: "tea", quantity: 2)])), memberID: "ada",
                idempotency: nil, quoting: quoting, cart: NoCart())
        }
        #expect(quoting.calls == 0)
    }

    @Test func anEmptyCartPlacesNothing() async throws {
        let engine = Self.engine()
        let ordering = OrderingService(engine: engine)
        await #expect(throws: OrderProblem.cartEmpty) {
            _ = try await ordering.place(Self.request(.cart), memberID: "ada", idempotency: nil, quoting: FixedQuote(), cart: NoCart())
        }
        #expect(try await engine.unitOfWork().load(MemberOrders.self, id: "ada") == nil, "no order was opened")
    }

    @Test func theOrderKeepsTheQuoteItWasPlacedAtAndTheCartsLines() async throws {
        let ordering = OrderingService(engine: Self.engine())
        let placed = try await ordering.place(
            Self.request(.cart, coupon: "C-1"), memberID: "ada", idempotency: nil, quoting: FixedQuote(),
            cart: FixedCart(lines: [StockLine(sku: "tea", quantity: 1)]))
        #expect(placed.order.quote == OrderTransitionTests.quote(coupon: "C-1"))
        #expect(placed.order.lines == [StockLine(sku: "tea", quantity: 1)])
        #expect(!placed.order.couponSettled, "the coupon waits for Pricing to redeem it")
    }
}

/// Prices every basket at the same quote (and counts the requests).
final class FixedQuote: PriceQuoting {
    private let count = Mutex(0)
    var calls: Int { count.withLock { $0 } }

    func quote(lines: [StockLine], memberID: String, couponCode: String?, delivery: DeliveryOption, reading work: UnitOfWork) async throws -> PriceQuote {
        count.withLock { $0 += 1 }
        return OrderTransitionTests.quote(coupon: couponCode)
    }
}

/// A cart holding `lines`.
struct FixedCart: CartLines {
    var lines: [StockLine]
    func lines(memberID: String, reading work: UnitOfWork) async throws -> [StockLine] { lines }
}

/// An empty cart.
struct NoCart: CartLines {
    func lines(memberID: String, reading work: UnitOfWork) async throws -> [StockLine] { [] }
}
