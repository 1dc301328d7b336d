import Herald
import MallCart
import MallCatalog
import MallKernel
import MallOrdering
import MallPayment
import MallPricing

extension Mall {
    /// A product as a shopper sees it: with their member price, and stock available.
    public func product(sku: String, memberID: String?) async throws -> ProductView {
        let summary = try await catalog.product(sku: sku)
        let quote = summary.onSale ? try? await pricing.quote(lines: [StockLine(sku: sku, quantity: 1)], memberID: memberID) : nil
        let stock = try await inventory.stock(sku: sku)
        return ProductView(product: summary, yourPrice: quote?.goodsTotal, available: stock.available)
    }

    /// The member's cart with a fresh quote (or why it cannot be priced now).
    public func cart(memberID: String) async throws -> CartView {
        let cart = try await carts.cart(memberID: memberID)
        guard !cart.lines.isEmpty else { return CartView(lines: [], quote: nil, problem: nil) }
        do {
            return CartView(lines: cart.lines, quote: try await pricing.quote(lines: cart.lines, memberID: memberID), problem: nil)
        } catch let problem as any MallProblem {
            return CartView(lines: cart.lines, quote: nil, problem: problem.description)
        }
    }

    /// Puts a line in the cart, checking the product is for sale and the quantity within
    /// what one order may hold.
    public func setCartLine(memberID: String, sku: String, quantity: Int) async throws -> CartView {
        let product = try await catalog.product(sku: sku)
        if (1...Cart.maximumQuantity).contains(quantity) { try ordering.limits.check([StockLine(sku: sku, quantity: quantity)]) }
        guard product.onSale else { throw PricingError.productNotOnSale(sku: sku) }
        try await carts.set(memberID: memberID, sku: sku, quantity: quantity)
        return try await cart(memberID: memberID)
    }

    /// Places an order (see ``OrderPlacement``).
    public func placeOrder(memberID: String, _ command: PlaceOrder, idempotencyKey: String?) async throws -> (order: Order, created: Bool) {
        try await orderPlacement.place(command, memberID: memberID, idempotencyKey: idempotencyKey)
    }

    /// Starts paying an order that awaits payment; a repeat returns the payment already
    /// started (see ``PaymentService/request(orderID:memberID:amount:)``).
    public func startPayment(orderID: String, memberID: String) async throws -> (payment: Payment, created: Bool) {
        let order = try await ordering.order(id: orderID, memberID: memberID)
        guard order.status == .awaitingPayment else {
            throw OrderProblem.wrongStatus(orderID, status: order.status, expected: .awaitingPayment)
        }
        let started = try await payments.request(orderID: orderID, memberID: memberID, amount: order.total)
        guard started.payment.status == .pending else { return started }
        // Asked again for a payment already started too: the gateway knows it by its id, and
        // a first call that timed out or failed may not have reached it.
        do {
            try await gateway.createIntent(paymentID: started.payment.id, amount: started.payment.amount)
        } catch let unavailable as GatewayUnavailable {
            throw unavailable
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw GatewayUnavailable(reason: "\(error)")
        }
        return started
    }
}

public struct ProductView: Codable, Hashable, Sendable {
    public var product: ProductSummary
    /// The caller's price for one unit today (member price and promotions); `nil` when not on sale.
    public var yourPrice: Money?
    public var available: Int
}

public struct CartView: Codable, Hashable, Sendable {
    public var lines: [StockLine]
    public var quote: PriceQuote?
    /// Why the cart cannot be priced now (e.g. a product was delisted).
    public var problem: String?
}
