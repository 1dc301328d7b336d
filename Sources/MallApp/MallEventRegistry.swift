import Herald
import MallEvents
import MallPricing

extension EventRegistry {
    /// Every event Mall records, registered under its stable name: those the contexts
    /// publish, and those a context keeps to itself.
    public static var mall: EventRegistry {
        var registry = EventRegistry()
        for type in PublishedEvents.all + PricingService.ownEvents { registry.registerOpened(type) }
        return registry
    }

    private mutating func registerOpened<E: DomainEvent>(_ type: E.Type) { register(type) }
}
