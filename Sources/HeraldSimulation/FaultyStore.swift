import Foundation
import Herald
import HeraldTesting
import Synchronization

/// How often each fault strikes, per store call, all drawn from the run's seed.
public struct FaultRates: Sendable, Hashable {
    /// A commit that fails before anything is written.
    public var commitLost = 0.02
    /// A commit that is written and then reported as failed: the caller cannot tell it from
    /// ``commitLost``.
    public var commitUnknown = 0.02
    /// A read that fails.
    public var readError = 0.02
    /// A call that takes 1–200 ms.
    public var slowCall = 0.05
    /// A call that takes 12–30 s: the node stands still for longer than a partition lease
    /// lasts, and wakes holding a lease another node may have taken.
    public var pause = 0.001
    /// A handler call that fails (the subscription retries it).
    public var handlerFailure = 0.08

    public init() {}

    /// Every probability multiplied by `factor` (and kept at most 1).
    public func scaled(by factor: Double) -> FaultRates {
        var rates = self
        for path in [\FaultRates.commitLost, \.commitUnknown, \.readError, \.slowCall, \.pause, \.handlerFailure] {
            rates[keyPath: path] = min(1, max(0, rates[keyPath: path] * factor))
        }
        return rates
    }

    /// No faults: how a run ends, so that what is left undone is a bug, not bad luck.
    public static let none = FaultRates().scaled(by: 0)
}

/// A guard taken out again, to show that the simulation notices. Herald's two are
/// applied by ``FaultyStore`` to the changesets it passes on, so Herald's own code keeps no
/// switch; a workload may define its own (Mall's is in its target).
public struct ReintroducedBug: RawRepresentable, Hashable, Sendable, Comparable {
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    /// A parked event's retry commits without its compare-and-set
    /// (``SubscriptionProgress/expectedParked``): two nodes retrying it both commit.
    public static let parkedRetryWithoutCompareAndSet = ReintroducedBug(rawValue: "parked-retry-cas")
    /// A partition's batch commits without its lease (``SubscriptionProgress/fence``).
    public static let partitionCommitWithoutFence = ReintroducedBug(rawValue: "partition-fence")
    /// Herald's own.
    public static let herald: [ReintroducedBug] = [.parkedRetryWithoutCompareAndSet, .partitionCommitWithoutFence]

    public static func < (lhs: ReintroducedBug, rhs: ReintroducedBug) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What all nodes of a simulation share: the store behind the faults, the seed's
/// generator, the trace, the fault rates in force, and the nodes' commit signals (a commit
/// wakes the other nodes' workers too, as PostgreSQL's notifications do, but without the
/// positions that let a worker skip reading).
final class Cluster: Sendable {
    let base = InMemoryEventStore()
    let random: SeededRandomSource
    let trace: Trace
    let time: ManualClock
    let bugs: Set<ReintroducedBug>
    private let rates: Mutex<FaultRates>
    private let stores = Mutex<[FaultyStore]>([])
    /// Faults that struck, by kind.
    let faults = Mutex<[String: Int]>([:])
    /// Guarantees seen broken while the run went on (the rest are checked at its end).
    let violations = Mutex<[String]>([])

    init(random: SeededRandomSource, trace: Trace, time: ManualClock, rates: FaultRates, bugs: Set<ReintroducedBug>) {
        self.random = random
        self.trace = trace
        self.time = time
        self.bugs = bugs
        self.rates = Mutex(rates)
    }

    var faultRates: FaultRates {
        get { rates.withLock { $0 } }
        set { rates.withLock { $0 = newValue } }
    }

    /// Whether a fault of probability `rate` strikes now (draws only when it can).
    func strikes(_ rate: Double) -> Bool { rate > 0 && random.nextUnit() < rate }

    func count(_ fault: String) { faults.withLock { $0[fault, default: 0] += 1 } }

    func violate(_ message: String) {
        violations.withLock { $0.append(message) }
        trace.record("VIOLATION: \(message)")
    }

    /// A uniform draw in `range`.
    func draw(_ range: ClosedRange<Double>) -> Double { range.lowerBound + random.nextUnit() * (range.upperBound - range.lowerBound) }

    func join(_ store: FaultyStore) { stores.withLock { $0.append(store) } }

    func leave(_ store: FaultyStore) { stores.withLock { $0.removeAll { $0 === store } } }

    /// Wakes every node's workers after a commit through `origin`.
    func announceCommit(_ changeset: Changeset, recorded: [EventEnvelope], through origin: FaultyStore) {
        guard changeset.announcesWork else { return }
        for store in stores.withLock({ $0 }) {
            store.commitSignal.notify(committed: changeset, at: store === origin ? recorded.positionRange : nil)
        }
    }

    func deliver(_ topic: String, from origin: FaultyStore) {
        for store in stores.withLock({ $0 }) where store !== origin { store.announcements.deliver(topic) }
    }
}

/// One node's way to the shared store, with the faults drawn from the seed: every call may
/// be slow or stall the node; reads may fail; commits may be lost, or written and reported
/// failed. After a crash every call throws `CancellationError`, as if the process were gone.
///
/// Every call is also a point where the simulation may run another task first, as a real
/// store's round trip is.
final class FaultyStore: EventStore {
    let node: String
    let cluster: Cluster
    let clock: NodeClock
    let commitSignal = CommitSignal()
    let announcements = Announcements()
    private let crashed = Atomic<Bool>(false)
    private var base: InMemoryEventStore { cluster.base }

    init(node: String, cluster: Cluster, clock: NodeClock) {
        self.node = node
        self.cluster = cluster
        self.clock = clock
    }

    /// From now on every call fails: the node's process is gone.
    func crash() { crashed.store(true, ordering: .relaxed) }

    private func checkAlive() throws {
        if crashed.load(ordering: .relaxed) { throw CancellationError() }
    }

    /// The part every call shares: a turn for other tasks, maybe a delay or a stall.
    private func arrive(_ operation: StaticString) async throws {
        try checkAlive()
        let rates = cluster.faultRates
        if cluster.strikes(rates.pause) {
            let seconds = cluster.draw(12...30)
            cluster.count("pause")
            cluster.trace.record("\(node) pauses \(Int(seconds)) s before \(operation)")
            try await cluster.time.sleep(until: cluster.time.now().addingTimeInterval(seconds))
        } else if cluster.strikes(rates.slowCall) {
            try await cluster.time.sleep(until: cluster.time.now().addingTimeInterval(cluster.draw(0.001...0.2)))
        } else {
            await Task.yield()
        }
        try checkAlive()
    }

    /// Any call but a commit (reads, and the small writes of leases, checkpoints' creation
    /// and projections' states): may fail before it does anything, counted as a read error.
    private func call<T>(_ operation: StaticString, _ body: () async throws -> T) async throws -> T {
        try await arrive(operation)
        cluster.trace.mix(UInt64(bitPattern: Int64(operation.utf8CodeUnitCount)) &* 31 &+ UInt64(node.utf8.count))
        if cluster.strikes(cluster.faultRates.readError) {
            cluster.count("read error")
            cluster.trace.record("\(node) \(operation) fails (simulated read error)")
            throw StoreError.unavailable("simulated read error")
        }
        return try await body()
    }

    func commit(_ changeset: Changeset) async throws -> [EventEnvelope] {
        try await arrive("commit")
        var changeset = changeset
        let what = Self.describe(changeset)
        // Whether the commit is fenced by a lease that is no longer the partition's: the
        // store must refuse it. Read in the same step as the commit (no other task runs
        // between the two).
        let lostLease = try await changeset.subscription?.fence.asyncMap { fence in
            try await base.leases(subscription: fence.subscription).first { $0.partition == fence.partition }
                .map { $0.owner != fence.owner || $0.token != fence.token } ?? true
        } ?? false
        if cluster.bugs.contains(.parkedRetryWithoutCompareAndSet) { changeset.subscription?.expectedParked = [] }
        if cluster.bugs.contains(.partitionCommitWithoutFence) { changeset.subscription?.fence = nil }
        let rates = cluster.faultRates
        if cluster.strikes(rates.commitLost) {
            cluster.count("commit lost")
            cluster.trace.record("\(node) commit lost: \(what)")
            throw StoreError.unavailable("simulated: commit lost")
        }
        let recorded: [EventEnvelope]
        do {
            recorded = try await base.commit(changeset)
        } catch {
            cluster.trace.record("\(node) commit refused (\(Self.describe(error))): \(what)")
            throw error
        }
        cluster.trace.record("\(node) commit\(recorded.positionRange.map { " @\($0.lowerBound)-\($0.upperBound)" } ?? ""): \(what)")
        if lostLease { cluster.violate("\(node) committed under a lease it no longer held: \(what)") }
        cluster.announceCommit(changeset, recorded: recorded, through: self)
        await Task.yield()
        try checkAlive()  // a crash after the write: durable, never reported
        if cluster.strikes(rates.commitUnknown) {
            cluster.count("commit unknown")
            cluster.trace.record("\(node) commit reported failed after it was written")
            throw StoreError.unavailable("simulated: commit outcome unknown")
        }
        return recorded
    }

    static func describe(_ changeset: Changeset) -> String {
        var parts: [String] = []
        if !changeset.aggregates.isEmpty { parts.append("docs " + changeset.aggregates.map { "\($0.stream.id)@\($0.newVersion)" }.joined(separator: ",")) }
        if !changeset.events.isEmpty { parts.append("events " + changeset.events.map(\.eventType).joined(separator: ",")) }
        if !changeset.scheduled.isEmpty { parts.append("schedule " + changeset.scheduled.map(\.key).joined(separator: ",")) }
        if !changeset.cancelledSchedules.isEmpty { parts.append("cancel " + changeset.cancelledSchedules.joined(separator: ",")) }
        if !changeset.deliveredSchedules.isEmpty { parts.append("deliver " + changeset.deliveredSchedules.joined(separator: ",")) }
        if let progress = changeset.subscription {
            var part = progress.checkpointName
            if let move = progress.checkpoint { part += " \(move.from)->\(move.to)" }
            if let fence = progress.fence { part += " lease \(fence.owner)#\(fence.token)" }
            if !progress.park.isEmpty { part += " park " + progress.park.map { "\($0.position):\($0.status)" }.joined(separator: ",") }
            if !progress.unpark.isEmpty { part += " unpark " + progress.unpark.map(String.init).joined(separator: ",") }
            if !progress.expectedParked.isEmpty { part += " expecting \(progress.expectedParked.count) parked" }
            parts.append(part)
        }
        return parts.joined(separator: "; ")
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let conflict as ConcurrencyConflict: "conflict on \(conflict.stream.id)"
        case let error as StoreError: "\(error)"
        default: "\(type(of: error))"
        }
    }

    // MARK: Reads and other calls, passed on

    func aggregate(_ stream: StreamID) async throws -> StoredAggregate? { try await call("aggregate") { try await base.aggregate(stream) } }
    func aggregates(_ streams: [StreamID]) async throws -> [StreamID: StoredAggregate] {
        try await call("aggregates") { try await base.aggregates(streams) }
    }
    func events(after position: Int64, limit: Int) async throws -> [EventEnvelope] {
        try await call("events") { try await base.events(after: position, limit: limit) }
    }
    func events(after position: Int64, limit: Int, matching filter: EventFilter) async throws -> (events: [EventEnvelope], scannedThrough: Int64?) {
        try await call("events matching") { try await base.events(after: position, limit: limit, matching: filter) }
    }
    func events(at positions: [Int64]) async throws -> [EventEnvelope] { try await call("events at") { try await base.events(at: positions) } }
    func headPosition() async throws -> Int64 { try await call("head") { try await base.headPosition() } }
    func firstPosition(of stream: StreamID) async throws -> Int64? { try await call("first position") { try await base.firstPosition(of: stream) } }
    func eventsBehind(_ checkpoint: Int64, through head: Int64) async throws -> Int64 {
        try await call("events behind") { try await base.eventsBehind(checkpoint, through: head) }
    }
    func earliest(of positions: Set<Int64>) async throws -> Int64? { try await call("earliest") { try await base.earliest(of: positions) } }
    func subscriptionRead(
        subscription: String, checkpointName: String, skippedThrough: Int64?, limit: Int, matching filter: EventFilter?
    ) async throws -> SubscriptionRead {
        try await call("subscription read") {
            try await base.subscriptionRead(
                subscription: subscription, checkpointName: checkpointName, skippedThrough: skippedThrough, limit: limit, matching: filter)
        }
    }
    func checkpoint(of subscription: String, creatingAt initialPosition: Int64) async throws -> Int64 {
        try await call("checkpoint") { try await base.checkpoint(of: subscription, creatingAt: initialPosition) }
    }
    func checkpoints() async throws -> [String: Int64] { try await call("checkpoints") { try await base.checkpoints() } }
    func replaceCheckpoints(of subscription: String, expecting current: [String: Int64], with names: [String], at position: Int64) async throws {
        try await call("replace checkpoints") { try await base.replaceCheckpoints(of: subscription, expecting: current, with: names, at: position) }
    }
    func parkedEvents(subscription: String?) async throws -> [ParkedEvent] {
        try await call("parked") { try await base.parkedEvents(subscription: subscription) }
    }
    func inboxContains(subscription: String, eventID: UUID) async throws -> Bool {
        try await call("inbox") { try await base.inboxContains(subscription: subscription, eventID: eventID) }
    }
    func dueScheduledMessages(at date: Date, limit: Int) async throws -> [ScheduledMessage] {
        try await call("due messages") { try await base.dueScheduledMessages(at: date, limit: limit) }
    }
    func nextScheduledDueDate() async throws -> Date? { try await call("next due") { try await base.nextScheduledDueDate() } }
    func scheduledMessageCounts(dueBy date: Date) async throws -> ScheduledMessageCounts {
        try await call("message counts") { try await base.scheduledMessageCounts(dueBy: date) }
    }
    func heartbeat(group: String, node: String, now: Date, expiresAt: Date) async throws -> [String] {
        try await call("heartbeat") { try await base.heartbeat(group: group, node: node, now: now, expiresAt: expiresAt) }
    }
    func acquireLease(subscription: String, partition: Int, owner: String, now: Date, expiresAt: Date) async throws -> PartitionLease? {
        try await call("acquire lease") {
            let lease = try await base.acquireLease(subscription: subscription, partition: partition, owner: owner, now: now, expiresAt: expiresAt)
            cluster.trace.mix(UInt64(bitPattern: lease?.token ?? -1))
            return lease
        }
    }
    func releaseLease(_ lease: PartitionLease) async throws {
        try await call("release lease") { try await base.releaseLease(lease) }
        cluster.trace.record("\(node) released \(lease.subscription)#\(lease.partition) token \(lease.token)")
    }
    func leases(subscription: String) async throws -> [PartitionLease] { try await call("leases") { try await base.leases(subscription: subscription) } }
    func prepareProjection(_ schema: ProjectionSchema) async throws -> ProjectionState {
        try await call("prepare projection") { try await base.prepareProjection(schema) }
    }
    func projectionState(_ name: String) async throws -> ProjectionState? { try await call("projection state") { try await base.projectionState(name) } }
    func beginProjectionBuild(_ schema: ProjectionSchema) async throws -> ProjectionState {
        try await call("begin build") { try await base.beginProjectionBuild(schema) }
    }
    func completeProjectionBuild(_ schema: ProjectionSchema, generation: Int) async throws {
        try await call("complete build") { try await base.completeProjectionBuild(schema, generation: generation) }
    }
    func projectionRows(_ table: ProjectionTable, physical: String, query: ProjectionQuery) async throws -> [ProjectionRow] {
        try await call("projection rows") { try await base.projectionRows(table, physical: physical, query: query) }
    }
    func projectionCount(_ table: ProjectionTable, physical: String, query: ProjectionQuery) async throws -> Int {
        try await call("projection count") { try await base.projectionCount(table, physical: physical, query: query) }
    }
    func projectionVersion(_ name: String) async throws -> ProjectionVersion? {
        try await call("projection version") { try await base.projectionVersion(name) }
    }
    func pruneEvents(before position: Int64, recordedBefore: Date, keepingTypes: Set<String>, limit: Int) async throws -> Int {
        try await call("prune events") { try await base.pruneEvents(before: position, recordedBefore: recordedBefore, keepingTypes: keepingTypes, limit: limit) }
    }
    func pruneInbox(limit: Int) async throws -> Int { try await call("prune inbox") { try await base.pruneInbox(limit: limit) } }
    func pruneDocuments(ofType streamType: String, writtenBefore: Date, after cursor: String?, limit: Int) async throws -> (deleted: Int, next: String?) {
        try await call("prune documents") { try await base.pruneDocuments(ofType: streamType, writtenBefore: writtenBefore, after: cursor, limit: limit) }
    }
    func announce(_ topic: String) async throws {
        try await call("announce") { cluster.deliver(topic, from: self) }
    }
}

extension Optional {
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
