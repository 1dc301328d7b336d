import ArgumentParser
import Foundation
import Herald
import HeraldPostgres
import HeraldSQLite
import Logging
import PostgresNIO
import ServiceLifecycle

/// The process the crash tests SIGKILL at random moments.
///
///     herald-crash-worker run   DB SEED   # write, schedule, cancel and consume until killed
///     herald-crash-worker drain DB        # consume until every subscription is caught up
///     herald-crash-worker consume POSTGRES_URL SCHEMA NODE PARTITIONS LEASE_MS
///                                         # one node of a partitioned subscription, until killed
///
/// `run` prints a line for each commit *after* it returned (an acknowledgement):
/// `COMMIT <event id>`, `SCHEDULED <key>`, `CANCELLED <key>`.
@main
struct CrashWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald-crash-worker", abstract: "The process the crash tests SIGKILL at random moments.",
        subcommands: [Run.self, Drain.self, Consume.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write, schedule, cancel and consume until killed.")
        @Argument(help: "SQLite file.") var database: String
        @Argument(help: "Seed of the writers' random choices.") var seed: UInt64 = 1

        func run() async throws {
            exitWhenOrphaned()
            let (engine, service) = try CrashWorker.open(database)
            let seed = self.seed
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                for writer in 0..<2 {
                    group.addTask { try await CrashWorker.write(engine, random: SeededRandomSource(seed: seed &* 31 &+ UInt64(writer))) }
                }
                try await group.waitForAll()
            }
        }
    }

    struct Drain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Consume until every subscription and the projection are caught up.")
        @Argument(help: "SQLite file.") var database: String

        func run() async throws {
            exitWhenOrphaned()
            let (engine, service) = try CrashWorker.open(database)
            try await CrashWorker.drain(engine, service: service)
        }
    }

    struct Consume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One node of a partitioned subscription on PostgreSQL (PARTITIONS 0: the same subscription unpartitioned), until killed.")
        @Argument(help: "postgres:// URL.") var url: String
        @Argument var schema: String
        @Argument var node: String
        @Argument var partitions: Int
        @Argument(help: "Lease duration in milliseconds.") var leaseMilliseconds: Int

        func run() async throws {
            exitWhenOrphaned()
            try await CrashWorker.consume(url: url, schema: schema, node: node, partitions: partitions, leaseMilliseconds: leaseMilliseconds)
        }
    }
}

enum CrashWorker {
    /// The SQLite engine and the service of the `run` and `drain` commands.
    static func open(_ path: String) throws -> (HeraldEngine, HeraldService) {
        let engine = HeraldEngine(
            store: try SQLiteEventStore(path: path), registry: registry,
            logger: Logger(label: "crash-worker", factory: { _ in SwiftLogNoOpLogHandler() }))
        let service = try engine.service(
            subscriptions: ["effects-a", "effects-b"].map(effectSubscription), projections: [tally], schedulerPollInterval: .milliseconds(20))
        return (engine, service)
    }

    /// A transactional subscriber whose effects can be counted: one counter per event id
    /// (a second application would make it 2) and a tracker per stream that notes any
    /// event arriving out of stream order.
    static func effectSubscription(_ name: String) -> Subscription {
        effectSubscription(name, partitioning: nil)
    }

    /// `pollInterval`: by default 20 ms unpartitioned (the SQLite crash tests), 200 ms partitioned.
    static func effectSubscription(_ name: String, partitioning: Partitioning?, pollInterval: Duration? = nil) -> Subscription {
        Subscription(
            name: name, batchSize: 50, pollInterval: pollInterval ?? .milliseconds(partitioning == nil ? 20 : 200), partitioning: partitioning,
            handler: .transactional { delivery, work in
            let event = delivery.envelope
            var effect = try await work.load(EffectCount.self, id: "\(name)/\(event.eventID)") ?? EffectCount(id: "\(name)/\(event.eventID)")
            effect.applied += 1
            try work.save(&effect)
            let trackerID = "\(name)/\(event.stream)"
            var tracker = try await work.load(StreamTracker.self, id: trackerID) ?? StreamTracker(id: trackerID)
            if event.streamVersion != tracker.lastVersion + 1 { tracker.outOfOrder += 1 }
            tracker.lastVersion = event.streamVersion
            try work.save(&tracker)
        })
    }

    /// A projection whose rows can be checked against a fold of the log: per stream, how
    /// many events, the last version and the sum of their positions (an event missed or
    /// applied twice changes the count and the sum).
    static let tally = Projection(
        name: "tally", version: 1,
        tables: [ProjectionTable(
            name: "streams",
            columns: [.init("stream", .text), .init("events", .integer), .init("last_version", .integer), .init("position_sum", .integer)],
            primaryKey: ["stream"])],
        batchSize: 50, pollInterval: .milliseconds(20)
    ) { delivery, rows in
        let event = delivery.envelope
        let row = try await rows.row("streams", key: .text("\(event.stream)"))
        try rows.upsert("streams", [
            "stream": .text("\(event.stream)"), "events": .integer((try row?.integer("events") ?? 0) + 1),
            "last_version": .integer(event.streamVersion), "position_sum": .integer((try row?.integer("position_sum") ?? 0) + event.position),
        ])
    }

    static var registry: EventRegistry {
        var registry = EventRegistry()
        registry.register(CrashIncremented.self)
        registry.register(CrashReminder.self)
        registry.register(CrashReminderCancelled.self)
        return registry
    }

    /// One node of the partitioned subscription `effects-p` and a scheduler, on PostgreSQL,
    /// until killed or sent SIGTERM (then it finishes its batches and releases its leases).
    static func consume(url: String, schema: String, node: String, partitions: Int, leaseMilliseconds: Int) async throws {
        let logger = Logger(label: "consumer-\(node)", factory: { _ in SwiftLogNoOpLogHandler() })
        let client = PostgresClient(configuration: try PostgresEventStore.configuration(url: url), backgroundLogger: logger)
        let store = try PostgresEventStore(client: client, options: .init(schema: schema), logger: logger)
        let engine = HeraldEngine(store: store, registry: registry, logger: logger, node: node)
        let partitioning = partitions > 0 ? Partitioning(count: partitions, leaseDuration: .milliseconds(leaseMilliseconds)) : nil
        let service = try engine.service(
            // One polling interval, partitioned or not: what the two cost is then the partitions' price alone.
            subscriptions: [effectSubscription("effects-p", partitioning: partitioning, pollInterval: .milliseconds(200))],
            schedulerPollInterval: .milliseconds(100))
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: client), .init(service: store), .init(service: service)],
                                 gracefulShutdownSignals: [.sigterm], logger: logger))
        try await group.run()
    }

    static func write(_ engine: HeraldEngine, random: SeededRandomSource) async throws {
        var pending: [String] = []
        var iteration = 0
        while true {
            iteration += 1
            let work = engine.unitOfWork()
            let id = "s\(random.next() % 16)"
            var counter = try await work.load(CrashCounter.self, id: id) ?? CrashCounter(id: id)
            counter.increment()
            try work.save(&counter)
            var scheduled: String?
            var cancelled: String?
            if iteration % 3 == 0 {
                let key = "reminder-\(UUID().uuidString)"
                let due = Date().addingTimeInterval(Double(random.next() % 400) / 1000)
                try work.schedule(CrashReminder(key: key), to: counter.stream, at: due, key: key)
                scheduled = key
            }
            if iteration % 7 == 0, !pending.isEmpty {
                let key = pending.removeFirst()
                work.cancelScheduledMessage(key: key)
                try work.append(CrashReminderCancelled(key: key), to: counter.stream)
                cancelled = key
            }
            let recorded: [EventEnvelope]
            do {
                recorded = try await work.commit()
            } catch is ConcurrencyConflict {
                // The other writer changed this counter first: nothing was written, try again.
                if let cancelled { pending.insert(cancelled, at: 0) }
                continue
            }
            var lines = recorded.map { "COMMIT \($0.eventID.uuidString)\n" }.joined()
            if let scheduled {
                pending.append(scheduled)
                lines += "SCHEDULED \(scheduled)\n"
            }
            if let cancelled { lines += "CANCELLED \(cancelled)\n" }
            FileHandle.standardOutput.write(Data(lines.utf8))
        }
    }

    static func drain(_ engine: HeraldEngine, service: HeraldService) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            while true {
                try await Task.sleep(for: .milliseconds(50))
                let head = try await engine.store.headPosition()
                let statuses = try await engine.subscriptionStatuses()
                let caughtUp = statuses.count == 3 && statuses.allSatisfy { $0.checkpoint == head && $0.retrying + $0.dead + $0.held == 0 }
                if caughtUp, try await engine.store.nextScheduledDueDate() == nil { break }
            }
            group.cancelAll()
        }
    }
}

struct CrashCounter: AggregateRoot {
    static let streamType = "CrashCounter"
    let id: String
    var value = 0
    var pendingEvents = PendingEvents()

    mutating func increment() {
        value += 1
        record(CrashIncremented(value: value))
    }
}

struct EffectCount: AggregateRoot {
    static let streamType = "EffectCount"
    let id: String
    var applied = 0
    var pendingEvents = PendingEvents()
}

struct StreamTracker: AggregateRoot {
    static let streamType = "StreamTracker"
    let id: String
    var lastVersion: Int64 = 0
    var outOfOrder = 0
    var pendingEvents = PendingEvents()
}

struct CrashIncremented: DomainEvent { static let eventType = "crash.Incremented"; var value: Int }
struct CrashReminder: DomainEvent { static let eventType = "crash.Reminder"; var key: String }
struct CrashReminderCancelled: DomainEvent { static let eventType = "crash.ReminderCancelled"; var key: String }

/// Ends this process once its parent has gone (it is then handed to another parent): a test
/// run that was itself killed must not leave a worker writing at full speed for hours,
/// slowing every later build and benchmark (seen: one ran 64 minutes of CPU).
func exitWhenOrphaned() {
    let parent = getppid()
    Thread.detachNewThread {
        while getppid() == parent { usleep(200_000) }
        exit(3)
    }
}
