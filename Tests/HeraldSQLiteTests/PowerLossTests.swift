import Foundation
import GRDB
import GRDBSQLite
import Herald
import HeraldSQLite
import HeraldTesting
import Logging
import PowerLossVFS
import Synchronization
import Testing

/// Power cuts through a VFS that forgets every write not yet synced (``PowerLossVFS``): at
/// seeded random points in the I/O of concurrent commits and a subscription's handling,
/// sometimes tearing the last unsynced write. After each cut the files as "the disk" kept
/// them are opened afresh and checked: under `synchronous = FULL` every acknowledged commit
/// is there, the file passes `PRAGMA integrity_check`, and the subscription resumes to apply
/// every event's effect exactly once. Under NORMAL the same cuts lose acknowledged commits,
/// which the test reports (the README's durability paragraph says so).
///
/// `HERALD_POWER_SEED` replays a run; each failure names its seed and cut.
@Suite("SQLite store: power loss", .serialized)
struct PowerLossTests {
    static let seed = UInt64(ProcessInfo.processInfo.environment["HERALD_POWER_SEED"] ?? "") ?? 20_261_201

    init() throws {
        try #require(plvfs_install() == SQLITE_OK, "the power-loss VFS is registered")
    }

    @Test func underFullEveryAcknowledgedCommitSurvivesAPowerCutAndEffectsApplyOnce() async throws {
        var lost = 0, acknowledged = 0, dropped = 0, torn = 0
        for cut in 1...200 {
            let outcome = try await Self.cutPower(.full, seed: Self.seed &+ UInt64(cut), label: "FULL cut \(cut), seed \(Self.seed &+ UInt64(cut))")
            lost += outcome.lost
            acknowledged += outcome.acknowledged
            dropped += outcome.dropped
            torn += outcome.torn ? 1 : 0
        }
        #expect(lost == 0, "acknowledged commits lost under FULL: \(lost)")
        #expect(dropped > 0, "the cuts dropped unsynced writes: the test cut into work under way")
        print("power loss (FULL): 200 cuts (\(torn) tearing the last write), \(acknowledged) acknowledged commits, "
              + "\(dropped) unsynced writes dropped, \(lost) acknowledged commits lost")
    }

    @Test func underNormalAPowerCutMayLoseAcknowledgedCommitsButNeverTheFile() async throws {
        var lost = 0, acknowledged = 0, cutsLosing = 0
        for cut in 1...50 {
            let outcome = try await Self.cutPower(.normal, seed: Self.seed &+ 1000 &+ UInt64(cut), label: "NORMAL cut \(cut)")
            lost += outcome.lost
            acknowledged += outcome.acknowledged
            cutsLosing += outcome.lost > 0 ? 1 : 0
        }
        // Not a failure: NORMAL promises survival of a process crash, not of a power loss.
        print("power loss (NORMAL): 50 cuts, \(acknowledged) acknowledged commits, \(lost) lost in \(cutsLosing) of the cuts")
    }

    struct Outcome {
        var acknowledged: Int
        var lost: Int
        var dropped: Int
        var torn: Bool
    }

    /// One store, four committers and a subscription's worker until the power is cut at a
    /// random write or sync; then the checks on what the disk kept.
    static func cutPower(_ synchronous: SQLiteEventStore.Options.Synchronous, seed: UInt64, label: String) async throws -> Outcome {
        let random = SeededRandomSource(seed: seed)
        let directory = try TemporaryDirectory()
        let path = directory.file("shop.sqlite")
        plvfs_track(directory.path + "/")
        let acknowledged = Acknowledged()
        var torn = false
        do {
            let store = try SQLiteEventStore(path: path, options: .init(synchronous: synchronous))
            let engine = HeraldEngine(store: store, logger: quiet)
            let tear = random.next() % 2 == 0
            plvfs_arm(Int64(1 + random.next() % 600), tear ? 1 : 0)
            let worker = try engine.worker(for: effects)
            let draining = Task {
                while plvfs_is_cut() == 0 {
                    _ = try? await worker.drain()
                    try? await Task.sleep(for: .milliseconds(1))
                }
            }
            await withTaskGroup(of: Void.self) { group in
                for committer in 0..<4 {
                    group.addTask {
                        for _ in 0..<15 where plvfs_is_cut() == 0 {
                            do {
                                let work = engine.unitOfWork()
                                var counter = try await work.load(TestCounter.self, id: "c\(committer)") ?? TestCounter(id: "c\(committer)")
                                counter.increment()
                                try work.save(&counter)
                                let recorded = try await work.commit()
                                acknowledged.ids.withLock { $0.formUnion(recorded.map(\.eventID)) }
                            } catch {
                                return  // the power is out: every write fails now
                            }
                        }
                    }
                }
            }
            // The armed cut may not have come before the work ran out: then it comes now.
            plvfs_cut(tear ? 1 : 0)
            await draining.value
            torn = tear
        }
        let dropped = Int(plvfs_dropped())

        // The disk as the cut left it, opened by a process that starts after the power is back.
        let after = try TemporaryDirectory()
        let reopenedPath = after.file("shop.sqlite")
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.copyItem(atPath: path + suffix, toPath: reopenedPath + suffix)
        }
        let store = try SQLiteEventStore(path: reopenedPath)
        let integrity = try await store.database.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
        #expect(integrity == ["ok"], "\(label): integrity check \(integrity)")
        let log = try await Self.log(store)
        let missing = acknowledged.ids.withLock { $0 }.subtracting(log.map(\.eventID))
        if synchronous == .full {
            #expect(missing.count == 0, "\(label): acknowledged commits missing after the cut")
        }

        // The subscription resumes from its checkpoint: every event's effect exactly once.
        let engine = HeraldEngine(store: store, logger: quiet)
        _ = try await engine.worker(for: effects).drain()
        for committer in 0..<4 {
            let events = log.count { $0.stream == StreamID(type: TestCounter.streamType, id: "c\(committer)") }
            let applied = try await store.aggregate(StreamID(type: Applied.streamType, id: "c\(committer)"))
                .map { try JSONDecoder().decode(Applied.self, from: $0.state).count } ?? 0
            #expect(applied == events, "\(label): counter c\(committer) has \(events) events and \(applied) effects")
        }
        return Outcome(acknowledged: acknowledged.ids.withLock { $0.count }, lost: missing.count, dropped: dropped, torn: torn)
    }

    static func log(_ store: SQLiteEventStore) async throws -> [EventEnvelope] {
        var events: [EventEnvelope] = []
        try await store.scanLog(after: 0) { events += $0 }
        return events
    }

    /// Counts, per counter, the increments it handled, in the same transaction as its checkpoint.
    static let effects = Subscription(name: "effects", handler: .transactional { delivery, work in
        guard delivery.envelope.eventType == TestIncremented.eventType else { return }
        let id = delivery.envelope.stream.id
        var applied = try await work.load(Applied.self, id: id) ?? Applied(id: id)
        applied.count += 1
        try work.save(&applied)
    })

    static let quiet = Logger(label: "power-loss", factory: { _ in SwiftLogNoOpLogHandler() })
}

/// The event ids of the commits that returned.
final class Acknowledged: Sendable {
    let ids = Mutex<Set<UUID>>([])
}

/// How many of a counter's increments the subscription applied.
struct Applied: AggregateRoot {
    static let streamType = "Applied"
    let id: String
    var count = 0
    var pendingEvents = PendingEvents()

    init(id: String) { self.id = id }
}
