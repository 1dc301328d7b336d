import Herald
import MallCart
import MallCatalog
import MallKernel
import MallOrdering
import MallPayment
import MallPricing
import MallPricingEvents

extension Mall {
    /// A product as a shopper sees it: with their member price, and stock available.
    public func product(sku: String, memberID: String?) async throws -> ProductViewBody {
        let summary = try await catalog.product(sku: sku)
        let quote = summary.onSale ? try? await pricing.quote(lines: [StockLine(sku: sku, quantity: 1)], memberID: memberID) : nil
        let stock = try await inventory.stock(sku: sku)
        return ProductViewBody(ProductView(product: summary, yourPrice: quote?.goodsTotal, available: stock.available))
    }

    /// The member's cart with a fresh quote (or why it cannot be priced now).
    public func cart(memberID: String) async throws -> CartBody {
        let cart = try await carts.cart(memberID: memberID)
        guard !cart.lines.isEmpty else { return CartBody(CartView(lines: [], quote: nil, problem: nil)) }
        do {
            return CartBody(CartView(lines: cart.lines, quote: try await pricing.quote(lines: cart.lines, memberID: memberID), problem: nil))
        } catch let problem as any MallProblem {
            return CartBody(CartView(lines: cart.lines, quote: nil, problem: problem.description))
        }
    }

    /// Puts a line in the cart, checking the product is for sale and the quantity within
    /// what one order may hold.
    @discardableResult
    public func setCartLine(memberID: String, sku: String, quantity: Int) async throws -> CartBody {
        let product = try await catalog.product(sku: sku)
        if (1...StockLine.maximumQuantity).contains(quantity) { try ordering.limits.check([StockLine(sku: sku, quantity: quantity)]) }
        guard product.onSale else { throw PricingError.productNotOnSale(sku: sku) }
        try await carts.set(memberID: memberID, sku: sku, quantity: quantity)
        return try await cart(memberID: memberID)
    }

    /// Takes a line out of the member's cart.
    @discardableResult
    public func removeCartLine(memberID: String, sku: String) async throws -> CartBody {
        try await carts.remove(memberID: memberID, sku: sku)
        return try await cart(memberID: memberID)
    }

    /// Starts paying an order that awaits payment; a repeat returns the payment already
    /// started (see ``PaymentService/request(orderID:memberID:amount:)``), so the gateway is
    /// asked again with the same payment id and never charges twice.
    ///
    /// - Returns: the payment, whether this call created it, and, when the gateway did not
    ///   answer, why its outcome is in doubt (the money may have been taken; the payment
    ///   stays pending until the gateway's callback settles it).
    /// - Throws: ``GatewayUnavailable`` when the gateway cannot have acted (nothing charged).
    public func startPayment(orderID: String, memberID: String) async throws -> StartedPayment {
        let order = try await ordering.order(id: orderID, memberID: memberID)
        guard order.status == .awaitingPayment else {
            throw OrderProblem.wrongStatus(orderID, status: order.status, expected: .awaitingPayment)
        }
        let started = try await payments.request(orderID: orderID, memberID: memberID, amount: order.total)
        let result = StartedPayment(payment: started.payment, created: started.created)
        guard started.payment.status == .pending else { return result }
        // Asked again for a payment already started too: the gateway knows it by its id, and
        // a first call that timed out or failed may not have reached it.
        do {
            try await gateway.createIntent(paymentID: started.payment.id, amount: started.payment.amount)
        } catch let unavailable as GatewayUnavailable {
            throw unavailable
        } catch let doubt as GatewayInDoubt {
            return StartedPayment(payment: started.payment, created: started.created, inDoubt: doubt)
        } catch is CancellationError {
            throw CancellationError()
        } catch let refused as any PermanentFailure {
            throw GatewayUnavailable(reason: "\(refused)")  // the gateway refused the call: it took nothing
        } catch {
            return StartedPayment(payment: started.payment, created: started.created, inDoubt: GatewayInDoubt(reason: "\(error)"))
        }
        return result
    }
}

/// A payment started (or found started) for an order.
public struct StartedPayment: Sendable {
    /// The payment as stored (tests and operations read it whole).
    @_spi(Operations) public var payment: Payment
    /// Whether this call created it (a repeat returns the one already started).
    public var created: Bool
    /// Set when the gateway did not answer: whether it took the money is unknown until its
    /// callback arrives. The payment stays pending; the order shows the outcome.
    public var inDoubt: InDoubt?

    /// Why a payment's outcome is not known yet, and when to look again.
    public struct InDoubt: Sendable, Hashable {
        public var detail: String
        public var retryAfterSeconds: Int64
    }

    init(payment: Payment, created: Bool, inDoubt: GatewayInDoubt? = nil) {
        (self.payment, self.created) = (payment, created)
        self.inDoubt = inDoubt.map { InDoubt(detail: $0.description, retryAfterSeconds: $0.retryAfterSeconds ?? 5) }
    }

    public var paymentID: String { payment.id }

    /// The answer to the member: the payment's id, amount and status (`pending` while in
    /// doubt, with why).
    public var body: PaymentStarted {
        PaymentStarted(
            paymentId: payment.id, amount: MoneyBody(payment.amount), status: inDoubt == nil ? payment.status.rawValue : "pending",
            detail: inDoubt?.detail)
    }
}

struct ProductView: Codable, Hashable, Sendable {
    public var product: ProductSummary
    /// The caller's price for one unit today (member price and promotions); `nil` when not on sale.
    public var yourPrice: Money?
    public var available: Int
}

struct CartView: Codable, Hashable, Sendable {
    public var lines: [StockLine]
    public var quote: PriceQuote?
    /// Why the cart cannot be priced now (e.g. a product was delisted).
    public var problem: String?
}
