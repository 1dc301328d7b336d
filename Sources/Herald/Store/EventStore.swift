import Foundation

/// Storage for aggregates, the event log, subscription progress, scheduled messages,
/// partition leases, projections, pruning and announcements: every capability Herald's
/// runtime uses, each its own protocol with its slice of the conformance suite
/// (`EventStoreConformance` in `HeraldTesting`).
///
/// The engine takes a whole store; each of its parts takes only the capabilities it uses
/// (a ``UnitOfWork`` reads documents and projection rows and commits; ``DeadLetters`` reads
/// and writes subscription progress; a ``PartitionCoordinator`` holds leases), so a part
/// can be given, or tested with, a store that offers just those.
///
/// A store guarantees:
/// - ``ChangesetCommitting/commit(_:)`` is atomic: every part of a ``Changeset`` is written,
///   or nothing is.
/// - Aggregate writes are checked optimistically; a mismatch throws ``ConcurrencyConflict``.
/// - Event positions are strictly increasing in commit order as readers see it: a reader
///   of ``EventLog/events(after:limit:)`` never skips an event that becomes visible later.
/// - Per stream, events are numbered 1, 2, 3, … in append order.
public protocol EventStore:
    ChangesetCommitting, EventLog, AggregateDocuments, SubscriptionProgressStore, ScheduledMessageStore, PartitionLeases,
    ProjectionStore, EventPruning, AnnouncingStore {}

/// Writes a ``Changeset`` (aggregates, events, checkpoints, parked events, scheduled
/// messages, projection rows) in one transaction.
public protocol ChangesetCommitting: Sendable {
    /// Signalled after every commit made through this store instance.
    var commitSignal: CommitSignal { get }

    /// Writes a changeset in one transaction and returns the appended events.
    ///
    /// - Throws: ``ConcurrencyConflict``, ``StoreError``; nothing is written when it throws.
    func commit(_ changeset: Changeset) async throws -> [EventEnvelope]
}

/// The event log, read in position order.
public protocol EventLog: Sendable {
    /// Up to `limit` events with a position greater than `position`, in position order.
    func events(after position: Int64, limit: Int) async throws -> [EventEnvelope]

    /// Up to `limit` events after `position` that match `filter`, and the position through
    /// which the log was scanned (`nil` when there was nothing new), to which a
    /// subscription's checkpoint may move.
    ///
    /// Same order and visibility as ``events(after:limit:)``. The scan reaches at least the
    /// last event returned; a store may end it before `limit` matches are found, and may
    /// skip reading the other events' payloads. The default filters one page of
    /// ``events(after:limit:)``.
    func events(after position: Int64, limit: Int, matching filter: EventFilter) async throws -> (events: [EventEnvelope], scannedThrough: Int64?)

    /// The events at the given positions, in position order (missing positions are skipped).
    func events(at positions: [Int64]) async throws -> [EventEnvelope]

    /// The position of the last event in the log (0 when empty).
    func headPosition() async throws -> Int64

    /// The position of the earliest event of `stream` still in the log (by the stream's
    /// index, not a scan); `nil` when it has none (never had, or pruned).
    func firstPosition(of stream: StreamID) async throws -> Int64?

    /// How many events a reader whose checkpoint is `checkpoint` has yet to read, up to and
    /// including the event at `head` (a position this log returned as its head), counted in
    /// the order readers get them. 0 when the checkpoint is at or past it.
    ///
    /// Not `head - checkpoint` on a log whose readers do not get events in position order
    /// (PostgreSQL's): there a checkpoint may stand on a higher position than the head's
    /// with events still to read. The default is for logs read in position order.
    func eventsBehind(_ checkpoint: Int64, through head: Int64) async throws -> Int64

    /// Of `positions` (0, or positions of events in the log), the one readers reach first;
    /// `nil` when `positions` is empty. A position this log does not hold cannot be placed,
    /// so it makes the answer 0, before everything. The default is for logs read in
    /// position order: the smallest.
    func earliest(of positions: Set<Int64>) async throws -> Int64?
}

/// Each aggregate's current document, written by commits.
public protocol AggregateDocuments: Sendable {
    /// The stored document of one aggregate.
    func aggregate(_ stream: StreamID) async throws -> StoredAggregate?

    /// The stored documents of `streams` that exist, in one read where the store can (a
    /// store across a network: one round trip instead of one per stream). The default reads
    /// them one by one.
    func aggregates(_ streams: [StreamID]) async throws -> [StreamID: StoredAggregate]
}

extension AggregateDocuments {
    public func aggregates(_ streams: [StreamID]) async throws -> [StreamID: StoredAggregate] {
        var found: [StreamID: StoredAggregate] = [:]
        for stream in Set(streams) { found[stream] = try await aggregate(stream) }
        return found
    }
}

/// Where each subscription stands: its checkpoint, its parked events, its inbox.
public protocol SubscriptionProgressStore: EventLog {
    /// What a subscription worker reads at the start of a pass, in one read where the store
    /// can: the checkpoint `checkpointName` (which must exist, else
    /// ``StoreError/checkpointRemoved(_:)``; it is never created here), the subscription's parked
    /// events, and up to `limit` events after the checkpoint or `skippedThrough`, whichever
    /// is further, matching `filter` (all events when `nil`) as
    /// ``EventLog/events(after:limit:matching:)`` reads them. The default makes the separate calls.
    func subscriptionRead(
        subscription: String, checkpointName: String, skippedThrough: Int64?, limit: Int, matching filter: EventFilter?
    ) async throws -> SubscriptionRead

    /// The checkpoint of a subscription, creating it at `initialPosition` when it is new.
    func checkpoint(of subscription: String, creatingAt initialPosition: Int64) async throws -> Int64

    /// Every subscription and its checkpoint.
    func checkpoints() async throws -> [String: Int64]

    /// Replaces a subscription's checkpoints — `subscription` itself and its partitions'
    /// `subscription#<p>/<count>` — by `names`, all at `position`, in one transaction, and
    /// only if they are exactly `current` (the same names at the same positions) when it
    /// runs; else nothing changes and it throws
    /// ``StoreError/checkpointMoved(subscription:expected:found:)``. This is how a
    /// subscription moves to another partition layout while other nodes run the old one:
    /// their next commit finds their checkpoint gone and is refused, and every partition of
    /// the new layout starts from the one agreed position.
    func replaceCheckpoints(of subscription: String, expecting current: [String: Int64], with names: [String], at position: Int64) async throws

    /// Parked events, of one subscription or of all when `subscription` is `nil`, ordered
    /// by subscription and position.
    func parkedEvents(subscription: String?) async throws -> [ParkedEvent]

    /// Whether the subscription's inbox already holds this event id.
    func inboxContains(subscription: String, eventID: UUID) async throws -> Bool
}

/// Messages scheduled for later, delivered by ``MessageScheduler``.
public protocol ScheduledMessageStore: Sendable {
    /// Scheduled messages due at or before `date`, earliest first.
    func dueScheduledMessages(at date: Date, limit: Int) async throws -> [ScheduledMessage]

    /// The due time of the earliest scheduled message, if any.
    func nextScheduledDueDate() async throws -> Date?

    /// How many scheduled messages wait, and how many of them are due at `date` (an
    /// operator's gauge: due ones should be few and short-lived).
    func scheduledMessageCounts(dueBy date: Date) async throws -> ScheduledMessageCounts
}

/// Scheduled messages waiting, and those of them already due.
public struct ScheduledMessageCounts: Sendable, Hashable {
    public var pending: Int
    public var due: Int

    public init(pending: Int, due: Int) {
        self.pending = pending
        self.due = due
    }
}

/// Leases on the partitions of a partitioned subscription, and the live nodes of a group
/// (see ``Partitioning``).
public protocol PartitionLeases: Sendable {
    /// Records `node` as alive in `group` until `expiresAt`, forgets the group's nodes that
    /// expired at `now`, and returns the live nodes, sorted.
    func heartbeat(group: String, node: String, now: Date, expiresAt: Date) async throws -> [String]

    /// Takes or renews the lease on one partition for `owner`, until `expiresAt`.
    ///
    /// Granted when the partition has no lease, when its lease expired at `now`, or when
    /// `owner` holds it still (a renewal, which keeps the token). Any other grant gives the
    /// lease a token one higher than before (1 for a new lease).
    ///
    /// - Returns: the lease, or `nil` when another owner holds an unexpired lease.
    func acquireLease(subscription: String, partition: Int, owner: String, now: Date, expiresAt: Date) async throws -> PartitionLease?

    /// Ends `lease` at once, so another node may take the partition; does nothing when the
    /// partition has changed hands since.
    func releaseLease(_ lease: PartitionLease) async throws

    /// The leases of one subscription's partitions, expired ones included, by partition.
    func leases(subscription: String) async throws -> [PartitionLease]
}

extension EventLog {
    /// Reads the log after `position` to its current end, a batch of at most `batchSize`
    /// events at a time, in delivery order (for tools: reconciliation, exports).
    public func scanLog(after position: Int64 = 0, batchSize: Int = 1000, _ body: ([EventEnvelope]) async throws -> Void) async throws {
        var position = position
        while true {
            let batch = try await events(after: position, limit: batchSize)
            guard let last = batch.last else { return }
            try await body(batch)
            position = last.position
        }
    }

    public func eventsBehind(_ checkpoint: Int64, through head: Int64) async throws -> Int64 { max(0, head - checkpoint) }

    public func earliest(of positions: Set<Int64>) async throws -> Int64? { positions.min() }

    public func events(after position: Int64, limit: Int, matching filter: EventFilter) async throws -> (events: [EventEnvelope], scannedThrough: Int64?) {
        let scanned = try await events(after: position, limit: limit)
        return (scanned.filter(filter.matches), scanned.last?.position)
    }
}

extension SubscriptionProgressStore {
    /// The checkpoints of `subscription`: its own and its partitions' (`subscription#…`).
    public func checkpoints(of subscription: String) async throws -> [String: Int64] {
        try await checkpoints().filter { Self.belongs($0.key, to: subscription) }
    }

    /// Whether the checkpoint `name` is `subscription`'s own or one of its partitions'.
    public static func belongs(_ name: String, to subscription: String) -> Bool {
        name == subscription || (name.hasPrefix(subscription) && name.dropFirst(subscription.count).first == "#"
            && Partitioning.partitionCheckpoint(name)?.subscription == subscription)
    }

    public func subscriptionRead(
        subscription: String, checkpointName: String, skippedThrough: Int64?, limit: Int, matching filter: EventFilter?
    ) async throws -> SubscriptionRead {
        guard let checkpoint = try await checkpoints()[checkpointName] else { throw StoreError.checkpointRemoved(checkpointName) }
        let parked = try await parkedEvents(subscription: subscription)
        return try await subscriptionRead(checkpoint: checkpoint, parked: parked, skippedThrough: skippedThrough, limit: limit, matching: filter)
    }

    /// The rest of a subscription read, its checkpoint and parked events read: up to `limit`
    /// events after the checkpoint or `skippedThrough`, whichever is further, matching `filter`.
    public func subscriptionRead(
        checkpoint: Int64, parked: [ParkedEvent], skippedThrough: Int64?, limit: Int, matching filter: EventFilter?
    ) async throws -> SubscriptionRead {
        let from = max(checkpoint, skippedThrough ?? 0)
        if let filter {
            let read = try await events(after: from, limit: limit, matching: filter)
            return SubscriptionRead(checkpoint: checkpoint, parked: parked, events: read.events, scannedThrough: read.scannedThrough)
        }
        let events = try await events(after: from, limit: limit)
        return SubscriptionRead(checkpoint: checkpoint, parked: parked, events: events, scannedThrough: events.last?.position)
    }
}

/// What ``SubscriptionProgressStore/subscriptionRead(subscription:checkpointName:skippedThrough:limit:matching:)``
/// returns.
public struct SubscriptionRead: Sendable {
    public var checkpoint: Int64
    public var parked: [ParkedEvent]
    public var events: [EventEnvelope]
    /// The position the scan reached (`nil` when there was nothing new).
    public var scannedThrough: Int64?

    public init(checkpoint: Int64, parked: [ParkedEvent], events: [EventEnvelope], scannedThrough: Int64?) {
        self.checkpoint = checkpoint
        self.parked = parked
        self.events = events
        self.scannedThrough = scannedThrough
    }
}

/// The events a subscription (or one partition of it) wants.
public struct EventFilter: Sendable, Hashable {
    /// Event types to match; `nil` matches all.
    public var types: Set<String>?
    /// One partition's streams only (see ``Partitioning``); `nil` matches all streams.
    public var partition: Int?
    /// The number of partitions `partition` counts in.
    public var partitionCount: Int

    public init(types: Set<String>? = nil, partition: Int? = nil, partitionCount: Int = 1) {
        self.types = types
        self.partition = partition
        self.partitionCount = partitionCount
    }

    public func matches(_ event: EventEnvelope) -> Bool {
        if let types, !types.contains(event.eventType) { return false }
        if let partition { return Partitioning.partition(of: event.stream, count: partitionCount) == partition }
        return true
    }
}
