import Herald
import MallCatalogEvents
import MallInventoryEvents
import MallMemberEvents
import MallOrderingEvents
import MallPaymentEvents
import MallPricing
import MallPricingEvents

extension EventRegistry {
    /// Every event Mall records, registered under its stable name: what each context
    /// publishes, and what a context keeps to itself.
    public static var mall: EventRegistry {
        var registry = EventRegistry()
        let published = CatalogEvents.published + MemberEvents.published + PricingEvents.published + InventoryEvents.published
            + OrderingEvents.published + PaymentEvents.published
        for type in published + PricingService.ownEvents { registry.registerOpened(type) }
        return registry
    }

    private mutating func registerOpened<E: DomainEvent>(_ type: E.Type) { register(type) }
}
