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

/// A subscription to the conformance fixtures' reminders, logging each one it handles.
func reminders(pollInterval: Duration, into handled: DeliveryLog) -> Subscription {
    Subscription(
        name: "reminders", eventTypes: [TestReminder.eventType], pollInterval: pollInterval,
        handler: .transactional { delivery, _ in handled.append(delivery.envelope) })
}

/// Appends `event` to the stream `S/1` in a unit of work of its own; its position.
func append(_ event: some DomainEvent, through engine: HeraldEngine) async throws -> Int64 {
    let work = engine.unitOfWork()
    try work.append(event, to: StreamID(type: "S", id: "1"))
    return try await work.commit()[0].position
}
