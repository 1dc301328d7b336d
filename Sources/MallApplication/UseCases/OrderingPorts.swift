import Herald
import MallCart
import MallKernel
import MallOrdering
import MallPricing
import MallPricingEvents

/// Pricing and the cart, adapted to the ports Ordering defines for placing an order: the
/// one place where Ordering's needs meet the other contexts' services.
enum OrderingPorts {
    /// Pricing's quote, as Ordering asks for it.
    struct Quoting: PriceQuoting {
        let pricing: PricingService

        func quote(
            lines: [StockLine], memberID: String, couponCode: String?, delivery: DeliveryOption, reading work: UnitOfWork
        ) async throws -> PriceQuote {
            try await pricing.quote(lines: lines, memberID: memberID, couponCode: couponCode, delivery: delivery, reading: work)
        }
    }

    /// The cart's lines, for an order placed from the cart.
    struct Cart: CartLines {
        let carts: CartService

        func lines(memberID: String, reading work: UnitOfWork) async throws -> [StockLine] {
            try await carts.cart(memberID: memberID, reading: work).lines
        }
    }
}
