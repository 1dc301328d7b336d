import Foundation
import Herald
import HeraldTesting
import Testing

@Suite("Configuration is validated at start-up")
struct ConfigurationTests {
    @Test func zeroAttemptsIsRefusedNamingTheSetting() {
        let error = #expect(throws: ConfigurationError.self) {
            try RetryPolicy(maxAttempts: 0, baseDelay: .seconds(1), maxDelay: .seconds(2))
        }
        #expect(error?.setting == "RetryPolicy.maxAttempts")
        #expect(error?.description.contains("at least 1") == true)
    }

    @Test func negativeOrInvertedDelaysAreRefused() {
        #expect(throws: ConfigurationError(setting: "RetryPolicy.baseDelay", value: "-1.0 seconds", allowed: "zero or positive")) {
            try RetryPolicy(maxAttempts: 3, baseDelay: .seconds(-1), maxDelay: .seconds(2))
        }
        let inverted = #expect(throws: ConfigurationError.self) {
            try RetryPolicy(maxAttempts: 3, baseDelay: .seconds(5), maxDelay: .seconds(1))
        }
        #expect(inverted?.setting == "RetryPolicy.maxDelay")
    }

    @Test func retryDelaysStayWithinFullJitterBoundsAndGrowExponentially() throws {
        let policy = try RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(100), maxDelay: .seconds(2))
        let random = SeededRandomSource(seed: 7)
        for attempt in 1...10 {
            let cap = min(2.0, 0.1 * pow(2, Double(attempt - 1)))
            var largest = 0.0
            for _ in 0..<200 {
                let delay = policy.delay(afterFailedAttempts: attempt, unit: random.nextUnit()).timeInterval
                #expect(delay >= 0 && delay <= cap + 1e-9, "attempt \(attempt): \(delay) outside 0...\(cap)")
                largest = max(largest, delay)
            }
            #expect(largest > cap * 0.8, "attempt \(attempt): jitter spans the range up to the cap")
        }
    }

    @Test func invalidSubscriptionSettingsAndDuplicateNamesAreRefused() throws {
        let engine = HeraldEngine(store: InMemoryEventStore())
        let noop = Subscription.Handler.external(inbox: false) { _ in }
        let zeroBatch = #expect(throws: ConfigurationError.self) {
            try engine.worker(for: Subscription(name: "s", batchSize: 0, handler: noop))
        }
        #expect(zeroBatch?.setting == "Subscription.batchSize (s)")
        #expect(throws: ConfigurationError.self) { try engine.worker(for: Subscription(name: "", handler: noop)) }
        #expect(throws: ConfigurationError.self) {
            try engine.worker(for: Subscription(name: "s", pollInterval: .zero, handler: noop))
        }
        let duplicate = #expect(throws: ConfigurationError.self) {
            try engine.service(subscriptions: [Subscription(name: "a", handler: noop), Subscription(name: "a", handler: noop)])
        }
        #expect(duplicate?.value == "a")
    }
}

@Suite("Events and aggregates")
struct EventModelTests {
    @Test func invalidPartitioningIsRefusedNamingTheSetting() throws {
        let engine = HeraldEngine(store: InMemoryEventStore())
        let noop = Subscription.Handler.transactional { _, _ in }
        func partitioned(_ partitioning: Partitioning, name: String = "s") -> Subscription {
            Subscription(name: name, partitioning: partitioning, handler: noop)
        }
        let zero = #expect(throws: ConfigurationError.self) { try engine.coordinator(for: partitioned(Partitioning(count: 0))) }
        #expect(zero?.setting == "Partitioning.count (s)")
        let renewal = #expect(throws: ConfigurationError.self) {
            try engine.coordinator(for: partitioned(Partitioning(count: 4, leaseDuration: .seconds(2), renewInterval: .seconds(1.5))))
        }
        #expect(renewal?.setting == "Partitioning.renewInterval (s)")
        #expect(throws: ConfigurationError.self) { try engine.coordinator(for: partitioned(Partitioning(count: 4), name: "a#b")) }
        let byHand = #expect(throws: ConfigurationError.self) { try engine.worker(for: partitioned(Partitioning(count: 4))) }
        #expect(byHand?.description.contains("coordinator(for:)") == true, "a partitioned subscription is not driven by hand")
        #expect(throws: Never.self) { try engine.coordinator(for: partitioned(Partitioning(count: 4))) }
    }

    @Test func pendingEventsAreNeverPartOfTheStoredDocument() throws {
        var counter = TestCounter(id: "c")
        counter.increment()
        let json = String(decoding: try JSONEncoder().encode(counter), as: UTF8.self)
        #expect(!json.contains("pendingEvents"))
        let decoded = try JSONDecoder().decode(TestCounter.self, from: Data(json.utf8))
        #expect(decoded.value == 1 && decoded.pendingEvents.isEmpty)
    }

    @Test func aMissingUpcasterIsNamedWithTypeAndVersion() throws {
        struct Renamed: DomainEvent { static let eventType = "Renamed"; static let schemaVersion = 3; var x: Int }
        var registry = EventRegistry()
        registry.register(Renamed.self, upcasters: [Upcaster(fromVersion: 2) { $0 }])
        let envelope = EventEnvelope(
            eventID: UUID(), stream: StreamID(type: "S", id: "1"), streamVersion: 1, position: 9, eventType: "Renamed",
            schemaVersion: 1, payload: Data(#"{"x":1}"#.utf8), occurredAt: Date(), recordedAt: Date())
        let error = #expect(throws: EventDecodingError.self) { try registry.decode(envelope) }
        #expect(error?.description == "cannot decode event Renamed v1 at position 9: no upcaster registered from v1 to v2")
    }

    @Test func jsonValueEditsKeepIntegersIntegral() throws {
        var value: JSONValue = ["price": 12, "sku": "tea"]
        value.renameMember("price", to: "priceEuros")
        value["priceMinor"] = .number(1200)
        let json = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        #expect(json.contains("\"priceMinor\":1200") && json.contains("\"priceEuros\":12") && !json.contains("\"price\":"))
    }
}
