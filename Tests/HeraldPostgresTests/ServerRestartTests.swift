import Foundation
import Herald
import HeraldPostgres
import HeraldTesting
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

/// Restarts the PostgreSQL server under a running writer and a consumer on another client.
///
/// Restarting would break every other test using the server, so this suite runs only when
/// it has a server to itself: `scripts/test.sh` runs it in a second pass, on its own
/// throwaway server, with `HERALD_POSTGRES_EXCLUSIVE=1`.
@Suite(
    "PostgreSQL server restarts",
    .enabled(if: PostgresServerControl.isExclusive, "needs a server of its own (HERALD_POSTGRES_EXCLUSIVE=1)"))
struct ServerRestartTests {
    /// Counts the events of one stream it has applied, and notices any applied out of order.
    struct StreamTally: AggregateRoot {
        static let streamType = "Tally"
        let id: String
        var applied: Int64 = 0
        var outOfOrder = 0
        var pendingEvents = PendingEvents()
        init(id: String) { self.id = id }
    }

    @Test func restartsLoseNothingDoubleNothingDeadLetterNothingAndListeningResumes() async throws {
        let schema = TestDatabase.freshSchema()
        // A short operation timeout: a query that a restart leaves hanging fails soon.
        let writerStore = try await TestDatabase.makeStore(schema: schema, operationTimeout: .seconds(3))

        // The consumer is another "node": its own client, its own listener, and a poll
        // interval of an hour, so it only delivers when NOTIFY (or a reconnect) wakes it.
        let consumerClient = PostgresClient(
            configuration: try PostgresEventStore.configuration(url: try #require(TestDatabase.url)),
            backgroundLogger: TestDatabase.logger)
        let consumerStore = try PostgresEventStore(client: consumerClient, options: .init(schema: schema, operationTimeout: .seconds(3)), logger: TestDatabase.logger)
        let consumer = HeraldEngine(store: consumerStore, logger: TestDatabase.logger)
        // One attempt per event: an outage mistaken for a handler failure would dead-letter
        // the event at once: an outage is not a handler failure.
        let tally = Subscription(
            name: "tally", retryPolicy: try RetryPolicy(maxAttempts: 1, baseDelay: .zero, maxDelay: .zero),
            pollInterval: .seconds(3600), handler: .transactional { delivery, work in
            let id = delivery.envelope.stream.id
            var row = try await work.load(StreamTally.self, id: id) ?? StreamTally(id: id)
            if delivery.envelope.streamVersion != row.applied + 1 { row.outOfOrder += 1 }
            row.applied = delivery.envelope.streamVersion
            try work.save(&row)
        })
        let service = try consumer.service(subscriptions: [tally])
        let group = ServiceGroup(services: [consumerClient, consumerStore, service], logger: TestDatabase.logger)
        let consuming = Task { try await group.run() }

        // The writer commits until told to stop, retrying whatever fails while the server is down.
        let acknowledged = DeliveryLog()
        let failures = Mutex(0), timeouts = Mutex(0)
        let writing = StopFlag()
        let writer = Task {
            var index = 0
            while !writing.isRequested {
                index += 1
                let work = HeraldEngine(store: writerStore, logger: TestDatabase.logger).unitOfWork()
                try work.append(TestReminder(note: "\(index)"), to: StreamID(type: "R", id: "s\(index % 7)"))
                do {
                    for event in try await work.commit() { acknowledged.append(event) }
                    if index % 100 == 0 { print("writer: \(acknowledged.all.count) acknowledged") }
                } catch {
                    print("writer: \(error)")
                    failures.withLock { $0 += 1 }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
        }

        for restart in 1...2 {
            try await eventually("writes before restart \(restart)", toleratingErrors: true) { acknowledged.all.count >= restart * 300 }
            try PostgresServerControl.restart()
        }
        try await eventually("writes after the last restart", toleratingErrors: true) { acknowledged.all.count >= 900 }
        writing.request()
        try await writer.value

        // Drain: one more commit after everything wakes the consumer through NOTIFY.
        let finalWork = HeraldEngine(store: writerStore, logger: TestDatabase.logger).unitOfWork()
        try finalWork.append(TestReminder(note: "last"), to: StreamID(type: "R", id: "last"))
        for event in try await finalWork.commit() { acknowledged.append(event) }
        let stored = try await writerStore.events(after: 0, limit: 1_000_000)
        let head = try #require(stored.last).position
        try await eventually("the consumer caught up", toleratingErrors: true) { try await consumerStore.checkpoints()["tally"] == head }
        await group.triggerGracefulShutdown()
        try await consuming.value

        #expect(try await writerStore.parkedEvents(subscription: nil).isEmpty, "no event parked or dead-lettered by the restarts")
        let storedIDs = Set(stored.map(\.eventID))
        #expect(acknowledged.all.allSatisfy { storedIDs.contains($0.eventID) }, "every acknowledged commit is stored")
        let perStream = Dictionary(grouping: stored, by: \.stream.id).mapValues { Int64($0.count) }
        for (stream, count) in perStream {
            let row = try await HeraldEngine(store: writerStore).unitOfWork().load(StreamTally.self, id: stream)
            #expect(row?.applied == count, "\(stream): every event applied once")
            #expect(row?.outOfOrder == 0, "\(stream): in order")
        }
        print("server restarts: 2 restarts, \(acknowledged.all.count) acknowledged commits, \(failures.withLock { $0 }) failed while down (\(timeouts.withLock { $0 }) of them timed out), \(stored.count) stored")
    }
}
