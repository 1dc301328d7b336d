import Foundation
import Herald

/// Version 2 of a price event: v1 stored whole euros in `price`, v2 stores cents in `priceMinor`
/// and was renamed from `test.PriceSet`.
struct TestPriceChanged: DomainEvent, Equatable {
    static let eventType = "test.PriceChanged"
    static let schemaVersion = 2
    var sku: String
    var priceMinor: Int
}

extension EventStoreConformance {
    private static func appendRaw(_ h: Harness, type: String, version: Int, payload: String, stream: String = "raw") async throws {
        var changeset = Changeset(recordedAt: h.clock.now())
        changeset.events = [NewEvent(eventID: UUID(), stream: StreamID(type: "Raw", id: stream), eventType: type,
                                     schemaVersion: version, payload: Data(payload.utf8), occurredAt: h.clock.now())]
        _ = try await h.store.commit(changeset)
    }

    private static func registerPrice(_ registry: inout EventRegistry) {
        registry.register(TestPriceChanged.self, formerNames: ["test.PriceSet"], upcasters: [
            Upcaster(fromVersion: 1) { payload in
                var payload = payload
                if case .number(let euros)? = payload["price"] { payload["priceMinor"] = .number(euros * 100) }
                payload["price"] = nil
                return payload
            },
        ])
    }

    static let decoding: [ConformanceTest] = [
        ConformanceTest(name: "several aggregates read at once are the ones read one by one, and missing ones are absent") { make in
            let h = try await Harness(make)
            _ = try await h.increment(["c1", "c2"], times: 2)
            _ = try await h.increment(["c3"], times: 1)
            let streams = [Harness.counter("c1"), Harness.counter("c3"), Harness.counter("missing"), Harness.counter("c1")]
            let together = try await h.store.aggregates(streams)
            var oneByOne: [StreamID: StoredAggregate] = [:]
            for stream in streams { oneByOne[stream] = try await h.store.aggregate(stream) }
            try checkEqual(together, oneByOne, "documents")
            try checkEqual(together[Harness.counter("c1")]?.version, 2, "version of c1")
            try checkEqual(try await h.store.aggregates([]), [:], "nothing asked")
        },
        ConformanceTest(name: "a stored v1 payload under a former name decodes as v2 through its upcaster") { make in
            let h = try await Harness(make, registry: registerPrice)
            try await appendRaw(h, type: "test.PriceSet", version: 1, payload: #"{"sku":"tea","price":12}"#)
            try await appendRaw(h, type: "test.PriceChanged", version: 2, payload: #"{"sku":"tea","priceMinor":1250}"#)
            let stored = try await h.log(holding: 2)
            let decoded = try stored.map { try h.engine.registry.decode(TestPriceChanged.self, from: $0) }
            try checkEqual(decoded, [TestPriceChanged(sku: "tea", priceMinor: 1200), TestPriceChanged(sku: "tea", priceMinor: 1250)], "decoded")
            try checkEqual(stored[0].schemaVersion, 1, "the log keeps the stored version")
        },
        ConformanceTest(name: "an undecodable or unknown stored event becomes a dead letter at once, naming type and version") { make in
            let h = try await Harness(make, registry: registerPrice)
            try await appendRaw(h, type: "test.PriceChanged", version: 2, payload: "not json {", stream: "corrupt")
            try await appendRaw(h, type: "test.Vanished", version: 3, payload: "{}", stream: "unknown")
            try await appendRaw(h, type: "test.PriceChanged", version: 7, payload: "{}", stream: "future")
            try await appendRaw(h, type: "test.PriceChanged", version: 2, payload: #"{"sku":"ok","priceMinor":1}"#, stream: "fine")
            let seen = DeliveryLog()
            let subscription = Subscription(name: "prices", handler: .transactional { delivery, _ in
                _ = try delivery.event()
                seen.append(delivery.envelope)
            })
            try await h.engine.worker(for: subscription).drain()
            try checkEqual(seen.all.map(\.stream.id), ["fine"], "the good event still flows")
            let dead = try await h.engine.deadLetters.list()
            try checkEqual(dead.map(\.parked.stream.id), ["corrupt", "unknown", "future"], "dead letters")
            try checkEqual(dead.map(\.attempts), [1, 1, 1], "permanent failures are not retried")
            let errors = dead.map { $0.lastError ?? "" }
            try check(errors[0].contains("test.PriceChanged v2"), "corrupt payload error names type and version: \(errors[0])")
            try check(errors[1].contains("test.Vanished v3") && errors[1].contains("no event type"), "unknown type error: \(errors[1])")
            try check(errors[2].contains("v7") && errors[2].contains("supports up to v2"), "future version error: \(errors[2])")
        },
        ConformanceTest(name: "an aggregate document that no longer decodes is reported with its stream and version") { make in
            let h = try await Harness(make)
            var changeset = Changeset(recordedAt: h.clock.now())
            changeset.aggregates = [AggregateWrite(stream: Harness.counter("broken"), expectedVersion: 0, state: Data("[1,2]".utf8))]
            _ = try await h.store.commit(changeset)
            let error = try await checkThrows(AggregateDecodingError.self, "loading a broken document") {
                try await h.engine.unitOfWork().load(TestCounter.self, id: "broken")
            }
            try check(error.description.contains("TestCounter/broken") && error.description.contains("version 1"), "error: \(error)")
        },
    ]
}
