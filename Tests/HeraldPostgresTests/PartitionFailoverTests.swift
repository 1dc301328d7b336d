import Foundation
import Herald
import HeraldPostgres
import HeraldTesting
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Three consumer processes (`herald-crash-worker consume`) share a subscription of six
/// partitions on one PostgreSQL database while this process writes; one consumer is
/// SIGKILLed mid-run. Its partitions must move to the others once its leases expire, and in
/// the end every event's transactional effect is applied exactly once, in stream order, and
/// every scheduled message fires once across all three schedulers.
@Suite("Partitions and leases across processes (PostgreSQL)", .serialized, .enabled(if: TestDatabase.enabled))
struct PartitionFailoverTests {
    struct Counter: AggregateRoot {
        static let streamType = "CrashCounter"
        let id: String
        var value = 0
        var pendingEvents = PendingEvents()
        init(id: String) { self.id = id }
        mutating func increment() {
            value += 1
            record(Incremented(value: value))
        }
    }

    struct Incremented: DomainEvent { static let eventType = "crash.Incremented"; var value: Int }
    struct Reminder: DomainEvent { static let eventType = "crash.Reminder"; var key: String }
    struct Applied: Decodable { var applied: Int }
    struct Tracker: Decodable { var lastVersion: Int64; var outOfOrder: Int }

    static let subscription = "effects-p"
    static let nodes = ["node-1", "node-2", "node-3"]

    @Test func aKilledConsumersPartitionsMoveAndEveryEffectIsAppliedOnce() async throws {
        let url = try #require(TestDatabase.url)
        let schema = TestDatabase.freshSchema()
        let store = try await TestDatabase.makeStore(schema: schema)
        let engine = HeraldEngine(store: store, logger: TestDatabase.logger)
        let worker = try Self.workerExecutable()
        var consumers: [String: Process] = [:]
        for node in Self.nodes {
            consumers[node] = try Self.start(worker, ["consume", url, schema, node, "6", "1500"])
        }
        defer { for process in consumers.values where process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        try await eventually("the six partitions are split two by two", timeout: .seconds(120), every: .milliseconds(50)) {
            let owners = try await Self.liveLeases(store).map(\.owner)
            return owners.count == 6 && Set(owners).count == 3 && Self.nodes.allSatisfy { node in owners.count { $0 == node } == 2 }
        }
        let leasesBefore = try await Self.liveLeases(store)
        let partitionsOfVictim = Set(leasesBefore.filter { $0.owner == "node-2" }.map(\.partition))

        var scheduled: [String] = []
        for round in 0..<600 {
            if round == 200 {
                let victim = try #require(consumers["node-2"])
                kill(victim.processIdentifier, SIGKILL)
                await victim.exit()
                #expect(victim.terminationReason == .uncaughtSignal, "node-2 died of SIGKILL")
            }
            let work = engine.unitOfWork()
            var counter = try await work.load(Counter.self, id: "c\(round % 24)") ?? Counter(id: "c\(round % 24)")
            counter.increment()
            try work.save(&counter)
            if round % 4 == 0 {
                let key = "reminder-\(round)"
                try work.schedule(Reminder(key: key), to: counter.stream, at: Date().addingTimeInterval(Double(round % 10) / 10), key: key)
                scheduled.append(key)
            }
            try await work.commit()
        }

        try await eventually("the two survivors drain every partition and every scheduled message", timeout: .seconds(120), every: .milliseconds(50)) {
            let head = try await store.headPosition()
            let checkpoints = try await store.checkpoints().filter { $0.key.hasPrefix(Self.subscription + "#") }
            let pending = try await store.nextScheduledDueDate()
            return pending == nil && checkpoints.count == 6 && checkpoints.values.allSatisfy { $0 == head }
        }

        let leasesAfter = try await Self.liveLeases(store)
        for partition in partitionsOfVictim {
            let lease = leasesAfter.first { $0.partition == partition }
            #expect(lease.map { ["node-1", "node-3"].contains($0.owner) } == true, "partition \(partition) moved to a survivor")
            let before = try #require(leasesBefore.first { $0.partition == partition })
            #expect((lease?.token ?? 0) > before.token, "partition \(partition)'s fencing token grew with the move")
        }
        #expect(try await store.parkedEvents(subscription: nil).isEmpty, "nothing failed")

        var log: [EventEnvelope] = []
        try await store.scanLog { log += $0 }
        for event in log {
            let effect = try await store.aggregate(StreamID(type: "EffectCount", id: "\(Self.subscription)/\(event.eventID)"))
            let applied = try effect.map { try JSONDecoder().decode(Applied.self, from: $0.state).applied }
            #expect(applied == 1, "the effect of position \(event.position) was applied \(applied ?? 0) times")
        }
        for (stream, events) in Dictionary(grouping: log, by: \.stream) {
            let tracker = try #require(try await store.aggregate(StreamID(type: "StreamTracker", id: "\(Self.subscription)/\(stream)")))
            let seen = try JSONDecoder().decode(Tracker.self, from: tracker.state)
            #expect(seen.lastVersion == Int64(events.count) && seen.outOfOrder == 0, "\(stream) delivered whole and in order")
        }
        let fired = log.filter { $0.eventType == Reminder.eventType }
            .map { try? JSONDecoder().decode(Reminder.self, from: $0.payload).key }
        #expect(fired.count == scheduled.count && Set(fired.compactMap { $0 }) == Set(scheduled),
                "each of \(scheduled.count) scheduled messages fired once (\(fired.count) fired)")
        print("partition failover: \(log.count) events, \(scheduled.count) scheduled; node-2's partitions \(partitionsOfVictim.sorted()) "
              + "moved to \(leasesAfter.filter { partitionsOfVictim.contains($0.partition) }.map(\.owner))")

        for node in ["node-1", "node-3"] { if let process = consumers[node] { kill(process.processIdentifier, SIGTERM) } }
        for node in ["node-1", "node-3"] {
            let process = try #require(consumers[node])
            try await eventually("\(node) stops on SIGTERM", timeout: .seconds(120), every: .milliseconds(50)) { !process.isRunning }
            #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(node) shut down cleanly")
        }
        let released = try await Self.liveLeases(store)
        #expect(released.isEmpty, "stopped nodes released their leases (\(released.map(\.owner)) still held)")
    }

    static func liveLeases(_ store: PostgresEventStore) async throws -> [PartitionLease] {
        try await store.leases(subscription: subscription).filter { $0.expiresAt > Date() }
    }

    static func workerExecutable() throws -> URL {
        let directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let worker = directory.appendingPathComponent("herald-crash-worker")
        try #require(FileManager.default.isExecutableFile(atPath: worker.path),
                     "build the worker first: swift build --build-tests (looked in \(directory.path))")
        return worker
    }

    static func start(_ executable: URL, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.standardError
        try process.run()
        return process
    }
}
