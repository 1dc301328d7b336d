import Foundation
import Herald
import HeraldPostgres
import HeraldTesting
import Logging
import PostgresNIO
import Synchronization
import Testing

/// Positions are handed out at insert time, so with concurrent writers a lower position
/// often commits after a higher one. These tests write that way on purpose while a
/// subscriber reads, and check that it still gets every event exactly once, in stream order.
///
/// The sessions it keeps open hold back the server-wide snapshot horizon, which delays
/// every reader on the server (by design: see `PostgresEventStore`). So it runs on a server
/// of its own, in `scripts/test.sh`'s second pass (`HERALD_POSTGRES_EXCLUSIVE=1`), where
/// it cannot stall other tests' reads.
@Suite(
    "PostgreSQL gap-safe delivery",
    .enabled(if: TestDatabase.enabled && ProcessInfo.processInfo.environment["HERALD_POSTGRES_EXCLUSIVE"] == "1",
             "needs a server of its own (HERALD_POSTGRES_EXCLUSIVE=1)"))
struct GapSafetyTests {
    static let writers = 16
    static let streams = 64
    static let totalEvents = 100_000

    @Test func concurrentWritersOfVariedLengthLoseNoEventAndKeepStreamOrder() async throws {
        // A client of its own, so the conformance tests running alongside do not share its pool.
        var configuration = try PostgresEventStore.configuration(url: try #require(TestDatabase.url))
        configuration.options.maximumConnections = Self.writers + 8
        let client = PostgresClient(configuration: configuration, backgroundLogger: TestDatabase.logger)
        let runningClient = Task { await client.run() }
        defer { runningClient.cancel() }
        let store = try await TestDatabase.makeStore(client: client)
        let engine = HeraldEngine(store: store, logger: TestDatabase.logger)
        let delivered = DeliveryLog()
        let subscription = Subscription(name: "gaps", batchSize: 500, pollInterval: .milliseconds(50), handler: .external(inbox: false) { delivery in
            delivered.append(delivery.envelope)
        })
        let worker = try engine.worker(for: subscription)
        let stop = StopFlag()
        let reading = Task { try await worker.run(stop: stop) }
        let naive = NaiveReader(store: store)
        let naiveReading = Task { try await naive.run(until: stop) }

        // Writers: 1–40 events per commit (so transactions take from one to forty round
        // trips and their positions interleave), plus transactions that hold a transaction
        // id open for a few milliseconds without writing events.
        let budget = Budget(Self.totalEvents)
        let committed = DeliveryLog()
        let unanswered = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<Self.writers {
                group.addTask {
                    let random = SeededRandomSource(seed: UInt64(writer) &+ 0x5EED)
                    var mine: [EventEnvelope] = []
                    while true {
                        let wanted = 1 + Int(random.next() % 40)
                        let granted = budget.take(wanted)
                        guard granted > 0 else { break }
                        let work = engine.unitOfWork()
                        for _ in 0..<granted {
                            let stream = StreamID(type: "Gap", id: "s\(random.next() % UInt64(Self.streams))")
                            try work.append(TestReminder(note: "w\(writer)"), to: stream)
                        }
                        do {
                            mine += try await work.commit()
                        } catch StoreError.unavailable {
                            // No answer in time: the commit may or may not be in the log. The
                            // checks below compare against the log, so either way is fine.
                            unanswered.add()
                        }
                    }
                    for event in mine { committed.append(event) }
                }
            }
            group.addTask {
                let random = SeededRandomSource(seed: 0xB10C)
                while budget.remaining > 0 {
                    let millis = Double(1 + random.next() % 20) / 1000
                    try await store.client.withTransaction(logger: TestDatabase.logger) { connection in
                        _ = try await connection.query("SELECT pg_current_xact_id(), pg_sleep(\(millis))", logger: TestDatabase.logger)
                            .collect()
                    }
                }
            }
            try await group.waitForAll()
        }

        let acknowledged = committed.all
        let all = try await store.events(after: 0, limit: 10 * Self.totalEvents)
        #expect(all.count >= acknowledged.count && all.count <= Self.totalEvents, "the log holds what was written")
        #expect(Set(acknowledged.map(\.eventID)).isSubset(of: Set(all.map(\.eventID))), "every acknowledged event is in the log")
        // Drain: the worker keeps reading until it has everything (bounded, not timed).
        for _ in 0..<6_000 where delivered.all.count < all.count {
            try await Task.sleep(for: .milliseconds(10))
        }
        stop.request()
        store.commitSignal.notify()
        try await reading.value
        try await naiveReading.value

        let got = delivered.all
        #expect(got.count == all.count, "delivered \(got.count) of \(all.count) committed events")
        #expect(Set(got.map(\.eventID)) == Set(all.map(\.eventID)), "the delivered set is the committed set")
        #expect(Set(got.map(\.eventID)).count == got.count, "no event delivered twice")
        var next: [StreamID: Int64] = [:]
        var outOfOrder = 0
        for event in got {
            if event.streamVersion != next[event.stream, default: 1] { outOfOrder += 1 }
            next[event.stream] = event.streamVersion + 1
        }
        #expect(outOfOrder == 0, "every stream delivered as 1, 2, 3, …")
        // Printed, not asserted: how many events a position-order reader misses depends on how
        // the writers interleave (about 1,700 in quiet runs, none on a loaded machine). The
        // test below makes one such gap on purpose and asserts both sides of it.
        print("gap safety: \(all.count) events from \(Self.writers) writers (\(unanswered.count) commits unanswered); delivered \(got.count); a naive position-order reader skipped \(naive.skipped(committed: all.count))")
    }
}

extension GapSafetyTests {
    /// One gap, made on purpose: a transaction takes a position and stays open while a later
    /// position commits and is read. A reader that orders by position alone moves past the
    /// open one and never sees it; the subscriber waits for it and gets both, in commit order.
    @Test func anEventCommittedAfterALaterOneWasReadStillReachesTheSubscriber() async throws {
        let store = try PostgresEventStore(
            client: try TestDatabase.requireClient(),
            options: .init(schema: TestDatabase.freshSchema(), horizonWait: .milliseconds(100)), logger: TestDatabase.logger)
        try await store.migrate()
        var registry = EventRegistry()
        registry.register(TestReminder.self)
        let engine = HeraldEngine(store: store, registry: registry, logger: TestDatabase.logger)
        let delivered = DeliveryLog()
        let worker = try engine.worker(for: Subscription(name: "gap", handler: .external(inbox: false) { delivered.append($0.envelope) }))
        let naive = NaiveReader(store: store)
        let payload = try JSONEncoder().encode(TestReminder(note: "early position, late commit"))

        try await store.client.withConnection { held in
            _ = try await held.query("BEGIN", logger: TestDatabase.logger).collect()
            let inserted = try await held.query("""
                INSERT INTO \(unescaped: store.options.schema).herald_events
                    (event_id, stream_type, stream_id, stream_version, event_type, schema_version, payload, occurred_at, recorded_at)
                VALUES (\(UUID()), 'Gap', 'held', 1, \(TestReminder.eventType), 1, \(ByteBuffer(bytes: payload)), now(), now())
                RETURNING position
                """, logger: TestDatabase.logger)
            var heldPosition: Int64 = 0
            for try await position in inserted.decode(Int64.self) { heldPosition = position }

            let work = engine.unitOfWork()
            try work.append(TestReminder(note: "later position, committed first"), to: StreamID(type: "Gap", id: "quick"))
            let later = try #require(try await work.commit().first)
            #expect(later.position > heldPosition, "the open transaction holds the lower position")

            try await naive.readOnce()  // moves past the open transaction's position
            try await worker.drain()
            #expect(delivered.all.isEmpty, "the subscriber holds back while an older transaction may still commit")
            _ = try await held.query("COMMIT", logger: TestDatabase.logger).collect()
        }

        try await naive.readOnce()
        #expect(naive.skipped(committed: 2) == 1, "a reader ordering by position alone lost the late commit")
        try await worker.drain()
        #expect(delivered.all.map(\.stream.id) == ["held", "quick"], "the subscriber got both, in commit order")
    }
}

extension GapSafetyTests {
    /// A transaction takes its id first and its position last, so it is read before an
    /// event of a lower position: a checkpoint on it is numerically past the head and still
    /// has that event to read. Lag, "which comes first" (retention's bound) and the engine's
    /// subscription statuses count in delivery order, not by subtracting positions.
    @Test func aCheckpointNumericallyPastTheHeadStillCountsTheEventsItHasToRead() async throws {
        let store = try PostgresEventStore(
            client: try TestDatabase.requireClient(),
            options: .init(schema: TestDatabase.freshSchema(), horizonWait: .seconds(5)), logger: TestDatabase.logger)
        try await store.migrate()
        var registry = EventRegistry()
        registry.register(TestReminder.self)
        let engine = HeraldEngine(store: store, registry: registry, logger: TestDatabase.logger)
        let payload = try JSONEncoder().encode(TestReminder(note: "early id, late position"))

        var early: Int64 = 0
        let later = try await store.client.withConnection { held in
            _ = try await held.query("BEGIN", logger: TestDatabase.logger).collect()
            _ = try await held.query("SELECT pg_current_xact_id()", logger: TestDatabase.logger).collect()
            let work = engine.unitOfWork()
            try work.append(TestReminder(note: "later id, earlier position"), to: StreamID(type: "Gap", id: "quick"))
            let later = try #require(try await work.commit().first)
            let inserted = try await held.query("""
                INSERT INTO \(unescaped: store.options.schema).herald_events
                    (event_id, stream_type, stream_id, stream_version, event_type, schema_version, payload, occurred_at, recorded_at)
                VALUES (\(UUID()), 'Gap', 'held', 1, \(TestReminder.eventType), 1, \(ByteBuffer(bytes: payload)), now(), now())
                RETURNING position
                """, logger: TestDatabase.logger)
            for try await position in inserted.decode(Int64.self) { early = position }
            _ = try await held.query("COMMIT", logger: TestDatabase.logger).collect()
            return later
        }
        #expect(early > later.position, "the early transaction holds the higher position")
        let read = try await store.events(after: 0, limit: 10)
        #expect(read.map(\.position) == [early, later.position], "readers get the higher position first")

        let head = try await store.headPosition()
        #expect(head == later.position, "the head is the last event in delivery order")
        #expect(try await store.eventsBehind(early, through: head) == 1, "a reader at the first still has the second to read")
        #expect(try await store.eventsBehind(head, through: head) == 0)
        #expect(try await store.eventsBehind(0, through: head) == 2)
        #expect(try await store.earliest(of: [early, later.position]) == early, "the higher position comes first")
        #expect(try await store.earliest(of: [early, 999_999]) == 0, "a position not in the log cannot be placed")

        _ = try await store.checkpoint(of: "reader", creatingAt: early)
        let status = try #require(try await engine.subscriptionStatuses().first { $0.name == "reader" })
        #expect(status.lag == 1, "\(status)")
    }
}

/// A count shared across tasks.
final class Counter: Sendable {
    private let value = Mutex(0)
    func add() { value.withLock { $0 += 1 } }
    var count: Int { value.withLock { $0 } }
}

/// Events left to write, handed out to writers.
final class Budget: Sendable {
    private let left: Mutex<Int>
    init(_ total: Int) { left = Mutex(total) }
    var remaining: Int { left.withLock { $0 } }
    /// Up to `wanted` events of what is left (0 when none is).
    func take(_ wanted: Int) -> Int {
        left.withLock { left in
            let granted = min(wanted, left)
            left -= granted
            return granted
        }
    }
}

/// What a reader that orders by position alone would do: read `position > checkpoint`,
/// move the checkpoint to the last row seen. Counted for the report, to show the test
/// really produces late-committing lower positions.
final class NaiveReader: Sendable {
    let store: PostgresEventStore
    private let seen = Mutex(0)

    init(store: PostgresEventStore) { self.store = store }

    func skipped(committed: Int) -> Int { committed - seen.withLock { $0 } }

    private let checkpoint = Mutex<Int64>(0)

    func run(until stop: StopFlag) async throws {
        while !stop.isRequested {
            if try await readOnce() == 0 { try await Task.sleep(for: .milliseconds(2)) }
        }
    }

    /// Reads up to 1,000 positions after the checkpoint and moves it to the last; returns how many.
    @discardableResult
    func readOnce() async throws -> Int {
        let from = checkpoint.withLock { $0 }
        let rows = try await store.client.query(
            "SELECT position FROM \(unescaped: store.options.schema).herald_events WHERE position > \(from) ORDER BY position LIMIT 1000",
            logger: TestDatabase.logger)
        var read = 0, last = from
        for try await position in rows.decode(Int64.self) {
            last = position
            read += 1
        }
        checkpoint.withLock { $0 = last }
        seen.withLock { $0 += read }
        return read
    }
}
