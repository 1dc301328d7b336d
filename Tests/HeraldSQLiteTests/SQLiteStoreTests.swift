import Foundation
import GRDB
import GRDBSQLite
import Herald
import HeraldSQLite
import HeraldTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("SQLite store settings and faults")
struct SQLiteStoreTests {
    @Test func synchronousFullIsInForceOnTheWriterAndNormalIsTheDefault() throws {
        let directory = try TemporaryDirectory()
        let full = try SQLiteEventStore(path: directory.file("full.sqlite"), options: .init(synchronous: .full))
        #expect(try full.synchronousSetting() == 2)
        let normal = try SQLiteEventStore(path: directory.file("normal.sqlite"))
        #expect(try normal.synchronousSetting() == 1)
        let mode = try normal.database.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }

    @Test func aDatabaseFromANewerSchemaIsRefusedNamingBothVersions() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("newer.sqlite")
        do {
            let store = try SQLiteEventStore(path: path)
            #expect(try store.schemaVersion() == 4)
            try store.database.write { try $0.execute(sql: "UPDATE herald_meta SET value = '7' WHERE key = 'schema_version'") }
        }
        let error = #expect(throws: StoreError.self) { try SQLiteEventStore(path: path) }
        #expect(error == .schemaTooNew(found: 7, supported: 4))
        #expect(error.map { "\($0)" }?.contains("version 7 is newer than this build supports (4)") == true)
    }

    @Test func aVersion1FileIsMigratedToTheCurrentVersionKeepingItsEvents() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("v1.sqlite")
        try await Self.commitOneEvent(to: path)
        do {  // make it look as version 1 left it: no lease or projection tables
            let store = try SQLiteEventStore(path: path)
            try await store.database.write { db in
                try db.execute(sql: "DROP TABLE herald_leases; DROP TABLE herald_nodes; DROP TABLE herald_projections")
                try db.execute(sql: "UPDATE herald_meta SET value = '1' WHERE key = 'schema_version'")
            }
        }
        let store = try SQLiteEventStore(path: path)
        #expect(try store.schemaVersion() == 4, "migrated to the current version")
        #expect(try await store.headPosition() == 1, "the event survived the migration")
        let now = Date()
        let lease = try await store.acquireLease(subscription: "s", partition: 0, owner: "a", now: now, expiresAt: now.addingTimeInterval(10))
        #expect(lease?.token == 1, "the new lease table works")
    }

    @Test func aReadOnlyDatabaseFileGivesAClearErrorAndWritesNothing() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("readonly.sqlite")
        try await Self.commitOneEvent(to: path)
        try Self.makeReadOnly(path)
        defer { Self.makeWritable(path) }

        var failure: (any Error)?
        do {
            let store = try SQLiteEventStore(path: path)
            try await Self.commitOneEvent(to: store)
        } catch {
            failure = error
        }
        guard case .readOnly(let detail)? = failure as? StoreError else {
            Issue.record("expected StoreError.readOnly, got \(String(describing: failure))")
            return
        }
        #expect(detail.contains(path))
        Self.makeWritable(path)
        #expect(try await SQLiteEventStore(path: path).headPosition() == 1, "no partial write")
    }

    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
    func aFullDiskGivesAClearErrorAndWritesNothingOfTheFailedCommit() async throws {
        let directory = try TemporaryDirectory()
        let mountPoint = directory.file("small-disk")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try #require(Self.run("/bin/mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint) == 0, "tmpfs mounted")
        defer { _ = Self.run("/bin/umount", "-l", mountPoint) }

        let store = try SQLiteEventStore(path: (mountPoint as NSString).appendingPathComponent("full.sqlite"))
        let engine = HeraldEngine(store: store)
        var committed: Int64 = 0
        var failure: (any Error)?
        for batch in 0..<1000 {
            let work = engine.unitOfWork()
            for index in 0..<8 {
                try work.append(TestReminder(note: String(repeating: "x", count: 8_000)),
                                to: StreamID(type: "Fill", id: "\(batch)-\(index)"))
            }
            do {
                committed += Int64(try await work.commit().count)
            } catch {
                failure = error
                break
            }
        }
        guard case .diskFull? = failure as? StoreError else {
            Issue.record("expected StoreError.diskFull, got \(String(describing: failure))")
            return
        }
        #expect(try await store.headPosition() == committed, "the failed commit left nothing behind")
    }

    @Test func readersOnManyThreadsDuringCommitsSeeEachCommitWholeAndNeverGoBack() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteEventStore(path: directory.file("readers.sqlite"))
        let engine = HeraldEngine(store: store, aggregateCache: AggregateCache(capacity: 0))
        let commits = 300
        let stream = StreamID(type: TestCounter.streamType, id: "c")
        try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                for _ in 0..<commits {
                    let work = engine.unitOfWork()
                    var counter = try await work.load(TestCounter.self, id: "c") ?? TestCounter(id: "c")
                    counter.increment()
                    try work.save(&counter)
                    try await work.commit()
                }
                return 0
            }
            for _ in 0..<8 {
                group.addTask {
                    var reads = 0, lastVersion: Int64 = 0, lastHead: Int64 = 0
                    while lastVersion < Int64(commits) {
                        // The document and its version come from one row: the value is the version.
                        if let stored = try await store.aggregate(stream) {
                            #expect(stored.version >= lastVersion)
                            #expect(try JSONDecoder().decode(TestCounter.self, from: stored.state).value == Int(stored.version))
                            lastVersion = stored.version
                        }
                        // The log holds every event up to the head, numbered without gaps, and at
                        // least as many as the version read before it.
                        let head = try await store.headPosition()
                        let events = try await store.events(after: 0, limit: commits + 1)
                        #expect(head >= lastHead && Int64(events.count) >= head && head >= lastVersion)
                        #expect(events.map(\.position) == (0..<Int64(events.count)).map { $0 + 1 })
                        lastHead = head
                        reads += 1
                        // Reads never suspend (they block the thread briefly instead): a loop
                        // waiting for another task must yield, or it can starve that task.
                        await Task.yield()
                    }
                    return reads
                }
            }
            var total = 0
            for try await reads in group { total += reads }
            #expect(total > 0)
        }
    }

    /// An outage is not a handler failure, on a real file: another connection holds the write lock, so the
    /// subscription's commit fails busy. That is an outage (no attempt, no dead letter, even
    /// with one attempt allowed); once the lock is gone every effect happens once.
    @Test func aDatabaseLockedByAnotherConnectionIsAnOutageNotAHandlerFailure() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("locked.sqlite")
        let store = try SQLiteEventStore(path: path, options: .init(busyTimeout: .milliseconds(50)))
        var registry = EventRegistry()
        registry.register(TestReminder.self)
        let engine = HeraldEngine(store: store, registry: registry, clock: ManualClock())
        for index in 1...3 {
            let work = engine.unitOfWork()
            try work.append(TestReminder(note: "\(index)"), to: StreamID(type: "Note", id: "n"))
            try await work.commit()
        }
        let notes = Subscription(
            name: "notes", eventTypes: [TestReminder.eventType],
            retryPolicy: try RetryPolicy(maxAttempts: 1, baseDelay: .zero, maxDelay: .zero),
            handler: .transactional { delivery, work in
                var tally = try await work.load(TestCounter.self, id: "notes") ?? TestCounter(id: "notes")
                tally.value += 1
                try work.save(&tally)
            })
        let worker = try engine.worker(for: notes)

        // GRDB refuses to leave a transaction open, so the other connection is SQLite's own.
        var other: OpaquePointer?
        try #require(sqlite3_open(path, &other) == SQLITE_OK)
        defer { sqlite3_close(other) }
        try #require(sqlite3_exec(other, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK, "the other connection holds the write lock")
        let error = await #expect(throws: StoreError.self) { try await worker.drain() }
        #expect(error.map(StoreError.isOutage) == true, "busy is an outage: \(String(describing: error))")
        #expect(try await store.parkedEvents(subscription: nil).isEmpty, "no attempt counted, no dead letter")
        try #require(sqlite3_exec(other, "ROLLBACK", nil, nil, nil) == SQLITE_OK)

        try await worker.drain()
        #expect(try await engine.unitOfWork().load(TestCounter.self, id: "notes")?.value == 3, "every effect once")
        #expect(try await store.parkedEvents(subscription: nil).isEmpty)
    }

    // MARK: - Helpers

    static func commitOneEvent(to path: String) async throws {
        try await commitOneEvent(to: SQLiteEventStore(path: path))
    }

    static func commitOneEvent(to store: SQLiteEventStore) async throws {
        let work = HeraldEngine(store: store).unitOfWork()
        try work.append(TestReminder(note: "hello"), to: StreamID(type: "Note", id: "n"))
        try await work.commit()
    }

    /// Root ignores file modes, so as root the file is also made immutable.
    static func makeReadOnly(_ path: String) throws {
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
        if getuid() == 0 {
            try #require(run("/usr/bin/chattr", "+i", path) == 0, "chattr +i works on this file system")
        }
    }

    static func makeWritable(_ path: String) {
        if getuid() == 0 { _ = run("/usr/bin/chattr", "-i", path) }
        try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: String...) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
