import Foundation
import GRDB
import Herald
import HeraldSQLite
import HeraldTesting
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Kills a real writer-and-consumer process with SIGKILL at seeded random moments, restarts
/// it, and checks after every kill and after a final drain that nothing acknowledged was
/// lost, no effect was applied twice, no checkpoint ran ahead of its effects, a projection's
/// rows were the fold of the log up to its checkpoint, per-stream order held and scheduled
/// messages fired once and never after their cancellation.
@Suite("Crash recovery with SIGKILL", .serialized)
struct CrashTests {
    static let subscriptions = ["effects-a", "effects-b"]

    @Test func sigkillAtRandomMomentsLosesNothingAndAppliesEffectsExactlyOnce() async throws {
        let directory = try TemporaryDirectory()
        let database = directory.file("crash.sqlite")
        let worker = try Self.workerExecutable()
        let seed = UInt64(ProcessInfo.processInfo.environment["HERALD_CRASH_SEED"] ?? "") ?? 20_261_123
        let random = SeededRandomSource(seed: seed)
        var acknowledged = Acknowledgements()
        let kills = 24
        for round in 1...kills {
            let output = directory.file("run-\(round).out")
            let process = try Self.start(worker, ["run", database, "\(seed &+ UInt64(round))"], output: output)
            // The moment of the kill is random; how much work fits before it does not matter.
            try await Task.sleep(for: .milliseconds(Int(100 + random.next() % 500)))
            kill(process.processIdentifier, SIGKILL)
            await process.exit()
            #expect(process.terminationReason == .uncaughtSignal, "round \(round): the worker died of SIGKILL, not of an error")
            acknowledged.read(try String(contentsOfFile: output, encoding: .utf8))
            try Self.verifyAfterKill(database, acknowledged, round: round)
        }
        #expect(acknowledged.commits.count > kills, "the workers made progress between kills (\(acknowledged.commits.count) commits)")

        let drain = try Self.start(worker, ["drain", database], output: directory.file("drain.out"))
        let deadline = Date().addingTimeInterval(300)  // a bound on a hang, not a speed claim
        while drain.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if drain.isRunning { kill(drain.processIdentifier, SIGKILL) }
        await drain.exit()
        try #require(drain.terminationStatus == 0 && drain.terminationReason == .exit, "drain finished")
        try Self.verifyDrained(database, acknowledged)
        let snapshot = try Snapshot(database)
        print("crash test: \(kills) kills, \(acknowledged.commits.count) acknowledged commits, \(snapshot.events.count) events, "
              + "\(acknowledged.scheduled.count) scheduled, \(acknowledged.cancelled.count) cancelled, \(snapshot.reminders.count) fired")
    }

    // MARK: - Checks

    static func verifyAfterKill(_ path: String, _ acknowledged: Acknowledgements, round: Int) throws {
        let snapshot = try Snapshot(path)
        let missing = acknowledged.commits.subtracting(snapshot.eventIDs)
        #expect(missing.isEmpty, "round \(round): \(missing.count) acknowledged events missing")
        for subscription in subscriptions {
            let checkpoint = snapshot.checkpoints[subscription] ?? 0
            for event in snapshot.events {
                let applied = snapshot.effects["\(subscription)/\(event.eventID.uuidString)"]
                if event.position <= checkpoint {
                    #expect(applied == 1, "round \(round): \(subscription) effect of position \(event.position) applied \(applied ?? 0) times, checkpoint \(checkpoint)")
                } else {
                    #expect(applied == nil, "round \(round): \(subscription) effect of position \(event.position) is ahead of checkpoint \(checkpoint)")
                }
            }
        }
        // The projection's rows are the fold of the log up to its checkpoint, nothing more.
        let checkpoint = snapshot.checkpoints["tally@g1"] ?? 0
        var fold: [String: Snapshot.Tally] = [:]
        for event in snapshot.events where event.position <= checkpoint {
            let before = fold["\(event.stream)"] ?? Snapshot.Tally(events: 0, lastVersion: 0, positionSum: 0)
            fold["\(event.stream)"] = Snapshot.Tally(events: before.events + 1, lastVersion: event.streamVersion, positionSum: before.positionSum + event.position)
        }
        #expect(snapshot.tally == fold, "round \(round): the projection's rows equal the fold of the log up to its checkpoint \(checkpoint)")
    }

    static func verifyDrained(_ path: String, _ acknowledged: Acknowledgements) throws {
        let snapshot = try Snapshot(path)
        try verifyAfterKill(path, acknowledged, round: 0)
        #expect(snapshot.eventIDs.count == snapshot.events.count, "every event id stored once")
        for subscription in subscriptions {
            #expect(snapshot.checkpoints[subscription] == snapshot.events.last?.position, "\(subscription) caught up")
            #expect(snapshot.checkpoints["tally@g1"] == snapshot.events.last?.position && !snapshot.tally.isEmpty, "the projection caught up")
            for (stream, versions) in snapshot.streamVersions {
                let tracker = snapshot.trackers["\(subscription)/\(stream)"]
                #expect(tracker?.lastVersion == versions.max(), "\(subscription) saw all of \(stream)")
                #expect(tracker?.outOfOrder == 0, "\(subscription) saw \(stream) in order")
            }
        }
        for (stream, versions) in snapshot.streamVersions {
            #expect(versions == Array(1...Int64(versions.count)), "\(stream) versions are gap-free")
        }
        #expect(snapshot.parkedCount == 0, "nothing parked")
        for key in acknowledged.scheduled {
            let fired = snapshot.reminders[key] ?? []
            #expect(fired.count <= 1, "\(key) fired \(fired.count) times")
            if let cancelledAt = snapshot.cancellations[key] {
                #expect(fired.allSatisfy { $0 < cancelledAt }, "\(key) fired after its cancellation")
            } else {
                #expect(fired.count == 1, "\(key) fired \(fired.count) times, expected once")
            }
        }
        #expect(acknowledged.scheduled.count > 10 && !acknowledged.cancelled.isEmpty, "the run scheduled and cancelled messages")
        #expect(!snapshot.reminders.isEmpty, "scheduled messages fired")
    }

    // MARK: - Process handling

    static func workerExecutable() throws -> URL {
        let binDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let worker = binDirectory.appendingPathComponent("herald-crash-worker")
        try #require(FileManager.default.isExecutableFile(atPath: worker.path),
                     "build the worker first: swift build --build-tests (looked in \(binDirectory.path))")
        return worker
    }

    static func start(_ executable: URL, _ arguments: [String], output: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardError = FileHandle.standardError
        try process.run()
        return process
    }
}

/// What the killed workers acknowledged (printed after their commit returned).
struct Acknowledgements {
    var commits = Set<UUID>()
    var scheduled = Set<String>()
    var cancelled = Set<String>()

    mutating func read(_ output: String) {
        // A line cut by the kill has no newline and was never acknowledged.
        for line in output.split(separator: "\n", omittingEmptySubsequences: true) where output.contains(line + "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "COMMIT": if let id = UUID(uuidString: String(parts[1])) { commits.insert(id) }
            case "SCHEDULED": scheduled.insert(String(parts[1]))
            case "CANCELLED": cancelled.insert(String(parts[1]))
            default: continue
            }
        }
    }
}

/// The database as the verifier reads it.
struct Snapshot {
    struct Tracker: Decodable { var lastVersion: Int64; var outOfOrder: Int }
    struct Applied: Decodable { var applied: Int }
    struct Keyed: Decodable { var key: String }

    var events: [EventEnvelope] = []
    var eventIDs = Set<UUID>()
    var checkpoints: [String: Int64] = [:]
    var effects: [String: Int] = [:]
    var trackers: [String: Tracker] = [:]
    var streamVersions: [String: [Int64]] = [:]
    var reminders: [String: [Int64]] = [:]
    var cancellations: [String: Int64] = [:]
    var parkedCount = 0
    struct Tally: Hashable { var events: Int64; var lastVersion: Int64; var positionSum: Int64 }
    /// The crash worker's `tally` projection, by stream.
    var tally: [String: Tally] = [:]

    init(_ path: String) throws {
        let queue = try DatabaseQueue(path: path)
        let decoder = JSONDecoder()
        try queue.read { db in
            for row in try Row.fetchAll(db, sql: "SELECT position, event_id, stream_type, stream_id, stream_version, event_type, payload FROM herald_events ORDER BY position") {
                let event = EventEnvelope(
                    eventID: row[1], stream: StreamID(type: row[2], id: row[3]), streamVersion: row[4], position: row[0],
                    eventType: row[5], schemaVersion: 1, payload: row[6], occurredAt: Date(), recordedAt: Date())
                events.append(event)
                eventIDs.insert(event.eventID)
                streamVersions["\(event.stream)", default: []].append(event.streamVersion)
                if event.eventType == "crash.Reminder" {
                    reminders[try decoder.decode(Keyed.self, from: event.payload).key, default: []].append(event.position)
                } else if event.eventType == "crash.ReminderCancelled" {
                    cancellations[try decoder.decode(Keyed.self, from: event.payload).key] = event.position
                }
            }
            for row in try Row.fetchAll(db, sql: "SELECT name, position FROM herald_subscriptions") {
                checkpoints[row[0]] = row[1]
            }
            for row in try Row.fetchAll(db, sql: "SELECT stream_type, stream_id, state FROM herald_aggregates WHERE stream_type IN ('EffectCount', 'StreamTracker')") {
                let type: String = row[0], id: String = row[1], state: Data = row[2]
                if type == "EffectCount" {
                    effects[id] = try decoder.decode(Applied.self, from: state).applied
                } else {
                    trackers[id] = try decoder.decode(Tracker.self, from: state)
                }
            }
            parkedCount = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM herald_parked") ?? 0
            if try db.tableExists("p_tally_streams_g1") {
                for row in try Row.fetchAll(db, sql: "SELECT stream, events, last_version, position_sum FROM p_tally_streams_g1") {
                    tally[row[0]] = Tally(events: row[1], lastVersion: row[2], positionSum: row[3])
                }
            }
        }
    }
}
