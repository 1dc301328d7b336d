import Foundation
import GRDB
import GRDBSQLite

/// The store's one writer: a thread of its own that takes every write waiting, runs them in
/// one transaction (each in a savepoint of its own) and syncs once for all of them.
///
/// A committing task hands its write over and suspends; no thread of Swift's cooperative
/// pool ever waits on SQLite's lock or on the disk. Under `synchronous = FULL` a commit
/// waits for an fsync, and the fsyncs a disk can do one after another are few (BENCHMARKS:
/// a few thousand a second), so writes that queue meanwhile share the next one: throughput
/// grows with the committers while each waits for at most one sync more.
///
/// Each write fails alone: a conflict, a constraint or a thrown error rolls back its own
/// savepoint and reaches only its committer, with the error it would have had alone, once
/// the group's transaction has ended (so a retry reads what the group committed). Writes
/// run in the order they were handed over, so a later write sees an earlier one as if each
/// had committed by itself. Only a failure of the transaction itself (SQLite's lock not
/// taken, the commit's I/O failing, a rollback SQLite did on its own) fails every write of
/// the group, none of which is then on disk. Committers are resumed after the commit
/// returned, so what they announce is already durable.
final class GroupCommitWriter: Sendable {
    /// The most writes one transaction takes; more wait for the next.
    static let maximumGroup = 512
    /// How long the writer looks for more work before it sleeps.
    static let spin = Duration.microseconds(50)

    private let queue = Queue()

    init(database: DatabasePool, label: String) {
        let queue = queue
        let thread = Thread { [database] in
            while let group = queue.next(upTo: Self.maximumGroup) { Self.run(group, database) }
        }
        thread.name = label
        thread.start()
    }

    deinit {
        queue.close()
    }

    /// Runs `body` in the next group's transaction and returns its result once that
    /// transaction has committed.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withUnsafeThrowingContinuation { continuation in
            queue.append(PendingWrite(body: body, continuation: continuation))
        }
    }

    /// How many writes the transactions so far took together.
    var groupStatistics: WriteGroupStatistics { queue.statistics }

    /// Writes handed over and not yet taken into a transaction.
    var waitingWrites: Int { queue.count }

    private static func run(_ group: [any WriteInGroup], _ database: DatabasePool) {
        // A write that fails alone hears of it only once its group's transaction has ended:
        // a committer that retries a conflict at once would otherwise read the store before
        // the winner's write is visible and lose to the same winner again, until its
        // attempts run out (a payment-deadline sweep met this on a slow disk).
        var failedAlone: [(write: any WriteInGroup, error: any Error)] = []
        func reportFailedAlone() {
            for failure in failedAlone { failure.write.resume(failing: failure.error) }
        }
        do {
            try database.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                var done: [any WriteInGroup] = []
                for write in group {
                    do {
                        try inSavepoint(db) { try write.perform(db) }
                        done.append(write)
                    } catch {
                        failedAlone.append((write, error))
                        if !db.isInsideTransaction {
                            // SQLite rolled the whole transaction back on its own (an I/O
                            // error, a full disk): the writes before this one are gone too.
                            for earlier in done { earlier.resume(failing: error) }
                            done = []
                            try db.execute(sql: "BEGIN IMMEDIATE")
                        }
                    }
                }
                do {
                    try db.execute(sql: "COMMIT")
                } catch {
                    if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
                    reportFailedAlone()
                    for write in done { write.resume(failing: error) }
                    return
                }
                reportFailedAlone()
                for write in done { write.resumeWithResult() }
            }
        } catch {
            // BEGIN failed (another process kept the lock past the busy timeout), or a
            // ROLLBACK TO did: the writes that failed alone hear their own error, the others
            // this one (`resume(failing:)` ignores a second time).
            reportFailedAlone()
            for write in group { write.resume(failing: error) }
        }
    }

    /// Runs `body` in a savepoint, rolled back when it throws (unless SQLite already rolled
    /// back the whole transaction).
    private static func inSavepoint(_ db: Database, _ body: () throws -> Void) throws {
        try db.cachedStatement(sql: "SAVEPOINT herald_write").execute()
        do {
            try body()
        } catch {
            if db.isInsideTransaction {
                try db.cachedStatement(sql: "ROLLBACK TO herald_write").execute()
                try db.cachedStatement(sql: "RELEASE herald_write").execute()
            }
            throw error
        }
        try db.cachedStatement(sql: "RELEASE herald_write").execute()
    }

    /// The writes handed over and not yet taken, and the writer's wake-up.
    private final class Queue: @unchecked Sendable {
        private let condition = NSCondition()
        private var waiting: [any WriteInGroup] = []
        private var closed = false
        private var taken = WriteGroupStatistics()

        var count: Int {
            condition.lock()
            defer { condition.unlock() }
            return waiting.count
        }

        var statistics: WriteGroupStatistics {
            condition.lock()
            defer { condition.unlock() }
            return taken
        }

        func append(_ write: any WriteInGroup) {
            condition.lock()
            waiting.append(write)
            let first = waiting.count == 1
            condition.unlock()
            if first { condition.signal() }
        }

        /// The writes waiting (at most `limit`), after waiting for one; nil once closed and empty.
        func next(upTo limit: Int) -> [any WriteInGroup]? {
            // A committer that just got its result often hands over its next write within
            // microseconds; looking for it a little while before sleeping saves both the
            // writer's wake-up and the committer's wait for it.
            let spinUntil = ContinuousClock.now + GroupCommitWriter.spin
            while ContinuousClock.now < spinUntil {
                condition.lock()
                let found = !waiting.isEmpty || closed
                condition.unlock()
                if found { break }
            }
            condition.lock()
            defer { condition.unlock() }
            while waiting.isEmpty {
                if closed { return nil }
                condition.wait()
            }
            let group = Array(waiting.prefix(limit))
            waiting.removeFirst(group.count)
            taken.record(groupSize: group.count)
            return group
        }

        func close() {
            condition.lock()
            closed = true
            condition.unlock()
            condition.broadcast()
        }
    }
}

/// One write handed to the writer, its result type erased.
private protocol WriteInGroup: AnyObject {
    func perform(_ db: Database) throws
    func resumeWithResult()
    func resume(failing error: any Error)
}

private final class PendingWrite<T: Sendable>: WriteInGroup {
    let body: @Sendable (Database) throws -> T
    var continuation: UnsafeContinuation<T, any Error>?
    var result: T?

    init(body: @escaping @Sendable (Database) throws -> T, continuation: UnsafeContinuation<T, any Error>) {
        self.body = body
        self.continuation = continuation
    }

    func perform(_ db: Database) throws { result = try body(db) }

    func resumeWithResult() {
        guard let continuation, let result else { return }
        self.continuation = nil
        continuation.resume(returning: result)
    }

    func resume(failing error: any Error) {
        guard let continuation else { return }
        self.continuation = nil
        continuation.resume(throwing: error)
    }
}

/// How many writes each of a SQLite store's transactions took (see
/// ``SQLiteEventStore/writeGroups``): 1 when commits come one at a time, more when they queue.
public struct WriteGroupStatistics: Sendable {
    /// `counts[n]`: transactions that took `n` writes.
    public private(set) var counts = [Int](repeating: 0, count: GroupCommitWriter.maximumGroup + 1)

    /// Nothing recorded yet.
    public init() {}

    mutating func record(groupSize: Int) { counts[groupSize] += 1 }

    public var transactions: Int { counts.reduce(0, +) }
    public var writes: Int { counts.indices.reduce(0) { $0 + $1 * counts[$1] } }
    /// Writes per transaction.
    public var mean: Double { transactions == 0 ? 0 : Double(writes) / Double(transactions) }

    /// The size that `percentile` percent of the transactions took at most.
    public func size(atPercentile percentile: Double) -> Int {
        let target = Double(transactions) * percentile / 100
        var seen = 0
        for size in counts.indices where counts[size] > 0 {
            seen += counts[size]
            if Double(seen) >= target { return size }
        }
        return 0
    }

    /// What was recorded since `earlier`.
    public func since(_ earlier: WriteGroupStatistics) -> WriteGroupStatistics {
        var difference = self
        for size in counts.indices { difference.counts[size] -= earlier.counts[size] }
        return difference
    }
}
