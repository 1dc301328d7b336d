import Foundation
import Testing

@testable import Herald

/// The registry keeps the events it decoded lately (every subscription of a process decodes
/// the same event): what it returns must still be what decoding the envelope gives.
@Suite struct EventRegistryTests {
    struct Counted: DomainEvent {
        static let eventType = "Counted"
        var x: Int
    }

    struct CountedAgain: DomainEvent {
        static let eventType = "Counted"
        var x: Int
    }

    func envelope(id: UUID, payload: String, position: Int64 = 1) -> EventEnvelope {
        EventEnvelope(
            eventID: id, stream: StreamID(type: "S", id: "1"), streamVersion: 1, position: position, eventType: "Counted",
            schemaVersion: 1, payload: Data(payload.utf8), occurredAt: Date(), recordedAt: Date())
    }

    @Test func anEventDecodedAgainIsTheSameEvent() throws {
        var registry = EventRegistry()
        registry.register(Counted.self)
        let stored = envelope(id: UUID(), payload: #"{"x":7}"#)
        #expect(try registry.decode(Counted.self, from: stored).x == 7)
        #expect(try registry.decode(Counted.self, from: stored).x == 7)
    }

    @Test func anEnvelopeWithOtherBytesUnderAKnownIDIsDecodedFromItsOwnBytes() throws {
        var registry = EventRegistry()
        registry.register(Counted.self)
        let id = UUID()
        #expect(try registry.decode(Counted.self, from: envelope(id: id, payload: #"{"x":1}"#)).x == 1)
        // Another store (a test's, a restored copy) may hold another event under the same id.
        #expect(try registry.decode(Counted.self, from: envelope(id: id, payload: #"{"x":2}"#)).x == 2)
        let malformed = #expect(throws: EventDecodingError.self) { try registry.decode(self.envelope(id: id, payload: #"{"y":2}"#)) }
        #expect(malformed?.reason != nil)
    }

    @Test func aRegistryChangedAfterDecodingDecodesWithItsNewTypes() throws {
        var registry = EventRegistry()
        registry.register(Counted.self)
        let stored = envelope(id: UUID(), payload: #"{"x":3}"#)
        let before = registry
        #expect(try registry.decode(stored) is Counted)
        registry.register(CountedAgain.self)
        #expect(try registry.decode(stored) is CountedAgain)
        #expect(try before.decode(stored) is Counted, "the copy taken before registering keeps its own types")
    }

    @Test func manyMoreEventsThanItKeepsAllDecodeToTheirOwnValues() throws {
        var registry = EventRegistry()
        registry.register(Counted.self)
        let count = RecentlyDecoded.capacity * 2 + 5
        let envelopes = (0..<count).map { envelope(id: UUID(), payload: #"{"x":\#($0)}"#, position: Int64($0 + 1)) }
        for round in 0..<2 {
            for (index, stored) in envelopes.enumerated() {
                #expect(try registry.decode(Counted.self, from: stored).x == index, "round \(round)")
            }
        }
    }
}
