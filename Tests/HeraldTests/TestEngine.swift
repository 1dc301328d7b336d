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

/// Polls `condition`, moving the given clocks on by `step` between polls. The bound only
/// stops a hang; no outcome depends on how fast the machine is.
func eventually(
    _ what: String, advancing clocks: [ManualClock] = [], by step: Duration = .seconds(1), _ condition: () async throws -> Bool
) async throws {
    for _ in 0..<15_000 {
        if try await condition() { return }
        for clock in clocks { clock.advance(by: step) }
        try await Task.sleep(for: .milliseconds(2))
    }
    Issue.record("timed out waiting until \(what)")
    throw CancellationError()
}
