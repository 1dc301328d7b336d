import Foundation
import Herald
@testable import HeraldSQLite
import HeraldTesting
import Testing
import TestSupport

/// The store's writer commits what queued meanwhile in one transaction, each write in a
/// savepoint of its own: a write that fails leaves the others of its group committed.
@Suite("SQLite store: group commit")
struct GroupCommitTests {
    @Test func writesQueuedBehindABusyWriterCommitTogetherAndEachFailsAlone() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteEventStore(path: directory.file("group.sqlite"))
        let existing = try await store.commit(Self.changeset(creating: "taken", event: UUID()))[0]
        let shared = StreamID(type: "Counter", id: "shared")
        _ = try await store.commit(Self.changeset(creating: "shared", event: UUID()))
        let before = store.writeGroups

        // Hold SQLite's writer from another thread, so everything handed over now waits.
        let hold = WriterHold(store)
        defer { hold.release() }  // also when an expectation throws: the writer must not stay blocked
        try await hold.taken()

        enum Outcome: Equatable { case committed(Int64), conflict(Int64?), duplicate, other(String) }
        let outcomes = try await withThrowingTaskGroup(of: (String, Outcome).self) { group in
            func add(_ name: String, _ changeset: Changeset) {
                group.addTask {
                    do {
                        return (name, .committed(try await store.commit(changeset)[0].position))
                    } catch let conflict as ConcurrencyConflict {
                        return (name, .conflict(conflict.actualVersion))
                    } catch StoreError.duplicateEventID {
                        return (name, .duplicate)
                    } catch {
                        return (name, .other("\(error)"))
                    }
                }
            }
            for index in 0..<8 { add("new \(index)", Self.changeset(creating: "n\(index)", event: UUID())) }
            for index in 0..<2 { add("update \(index)", Self.changeset(updating: shared, from: 1, event: UUID())) }
            add("duplicate", Self.changeset(creating: "d", event: existing.eventID))
            // Every write is handed over: the writer took the first (and any that came with
            // it) before it found SQLite's writer held, the others wait for it.
            try await eventually("the writes are handed over", timeout: .seconds(30)) {
                store.writeGroups.since(before).writes + store.waitingWrites == 11
            }
            hold.release()
            var outcomes: [String: Outcome] = [:]
            for try await (name, outcome) in group { outcomes[name] = outcome }
            return outcomes
        }

        let groups = store.writeGroups.since(before)
        #expect(groups.writes == 11 && groups.transactions <= 2,
                "what queued behind the held writer went in one transaction: \(groups.counts.enumerated().filter { $0.element > 0 })")
        let positions = (0..<8).compactMap { index -> Int64? in
            if case .committed(let position) = outcomes["new \(index)"] { return position } else { return nil }
        }
        #expect(positions.count == 8, "\(outcomes)")
        let updates = [outcomes["update 0"], outcomes["update 1"]]
        #expect(updates.filter { if case .committed = $0 { true } else { false } }.count == 1, "one update wins: \(updates)")
        #expect(updates.contains(.conflict(2)), "the other sees the winner's version: \(updates)")
        #expect(outcomes["duplicate"] == .duplicate)
        // The failed writes left nothing; the others are there, gap-free.
        let log = try await store.events(after: 0, limit: 100)
        #expect(log.map(\.position) == Array(1...Int64(log.count)))
        #expect(log.count == 2 + 8 + 1)
        #expect(try await store.aggregate(shared)?.version == 2)
        #expect(try await store.aggregate(StreamID(type: "Counter", id: "d")) == nil)
    }

    @Test func aWriteAloneThatFailsLeavesTheWriterWorking() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteEventStore(path: directory.file("alone.sqlite"))
        let first = try await store.commit(Self.changeset(creating: "a", event: UUID()))[0]
        await #expect(throws: StoreError.duplicateEventID(first.eventID)) {
            try await store.commit(Self.changeset(creating: "b", event: first.eventID))
        }
        await #expect(throws: ConcurrencyConflict.self) { try await store.commit(Self.changeset(creating: "a", event: UUID())) }
        let next = try await store.commit(Self.changeset(creating: "c", event: UUID()))[0]
        #expect(next.position == 2)
        #expect(try await store.aggregate(StreamID(type: "Counter", id: "b")) == nil)
    }

    /// A conflict retried at once must find the winner: a write that loses to one earlier in
    /// its group hears of it only once the group has committed. (Told at once, a committer
    /// re-read the old version and lost to the same winner until its attempts ran out.)
    @Test func aWriteThatLosesToItsGroupLearnsOfItOnlyOnceTheWinnerIsVisible() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteEventStore(path: directory.file("visible.sqlite"))
        let shared = StreamID(type: "Counter", id: "shared")
        _ = try await store.commit(Self.changeset(creating: "shared", event: UUID()))
        let before = store.writeGroups

        let hold = WriterHold(store)
        defer { hold.release() }
        try await hold.taken()
        // A first write the writer takes alone and holds at BEGIN, so the three after it
        // queue for one group: the winner, the loser, and a last write that keeps the
        // group's transaction open until the test has looked (or a second has passed).
        let lastMayFinish = DispatchSemaphore(value: 0)
        async let first = store.commit(Self.changeset(creating: "first", event: UUID()))
        try await eventually("the writer took the first write", timeout: .seconds(30)) { store.writeGroups.since(before).writes == 1 }
        async let winner = store.commit(Self.changeset(updating: shared, from: 1, event: UUID()))
        try await eventually("the winner is handed over", timeout: .seconds(30)) { store.waitingWrites == 1 }
        let loser = Task { () -> Int64? in
            do {
                _ = try await store.commit(Self.changeset(updating: shared, from: 1, event: UUID()))
                return nil
            } catch is ConcurrencyConflict {
                return try await store.aggregate(shared)?.version
            }
        }
        try await eventually("the loser is handed over", timeout: .seconds(30)) { store.waitingWrites == 2 }
        async let last: Void = store.writer.write { _ in _ = lastMayFinish.wait(timeout: .now() + 1) }
        try await eventually("the last write is handed over", timeout: .seconds(30)) { store.waitingWrites == 3 }
        hold.release()

        let versionSeenByTheLoser = try await loser.value
        lastMayFinish.signal()
        _ = try await (first, winner, last)
        #expect(versionSeenByTheLoser == 2, "the loser, told of its conflict, reads the winner's version")
        #expect(store.writeGroups.since(before).transactions == 2, "the winner, the loser and the last write went in one group")
    }

    static func changeset(creating id: String, event: UUID) -> Changeset {
        write(StreamID(type: "Counter", id: id), expectedVersion: 0, event: event)
    }

    static func changeset(updating stream: StreamID, from version: Int64, event: UUID) -> Changeset {
        write(stream, expectedVersion: version, event: event)
    }

    static func write(_ stream: StreamID, expectedVersion: Int64, event: UUID) -> Changeset {
        var changeset = Changeset(recordedAt: Date())
        changeset.aggregates = [AggregateWrite(stream: stream, expectedVersion: expectedVersion, state: Data("{}".utf8))]
        changeset.events = [NewEvent(eventID: event, stream: stream, eventType: "test.Counted", schemaVersion: 1,
                                     payload: Data("{}".utf8), occurredAt: Date())]
        return changeset
    }
}

/// SQLite's writer connection held by a thread of its own until released.
final class WriterHold: Sendable {
    private let holding = DispatchSemaphore(value: 0)
    private let released = DispatchSemaphore(value: 0)

    init(_ store: SQLiteEventStore) {
        let (holding, released) = (holding, released)
        Thread {
            store.database.writeWithoutTransaction { _ in
                holding.signal()
                released.wait()
            }
        }.start()
    }

    /// Returns once the thread holds the writer (waiting off the cooperative pool).
    func taken() async throws {
        await withCheckedContinuation { continuation in
            Thread { [holding] in
                holding.wait()
                continuation.resume()
            }.start()
        }
    }

    func release() { released.signal() }
}
