import Foundation
import Herald
import HeraldTesting
import Logging
import Testing

/// An engine on an in-memory store with a manual clock and no log output, knowing the
/// conformance fixtures' reminder event.
func quietEngine(store: InMemoryEventStore, clock: ManualClock) -> HeraldEngine {
    var registry = EventRegistry()
    registry.register(TestReminder.self)
    return HeraldEngine(store: store, registry: registry, clock: clock, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
}
