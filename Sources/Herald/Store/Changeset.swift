import Foundation

/// Everything one transaction writes. A store applies a changeset completely or not at all.
///
/// Units of work, subscription workers, the scheduler and the dead-letter tools all write
/// through ``ChangesetCommitting/commit(_:)`` with a changeset: there is one write path to prove.
public struct Changeset: Sendable {
    /// Aggregate documents to insert or update, each with its optimistic version check.
    public var aggregates: [AggregateWrite] = []
    /// Events to append, in order. The store numbers them per stream and globally.
    public var events: [NewEvent] = []
    /// Messages to schedule (replacing any message with the same key).
    public var scheduled: [ScheduledMessage] = []
    /// Keys of scheduled messages to cancel; unknown keys are ignored.
    public var cancelledSchedules: [String] = []
    /// Keys of scheduled messages being delivered by this changeset: each must still exist,
    /// else the whole changeset fails with ``StoreError/scheduledMessageGone(key:)``.
    public var deliveredSchedules: [String] = []
    /// Progress of one subscription, committed with the effects above.
    public var subscription: SubscriptionProgress?
    /// Rows of projection tables to write, in order (see ``ProjectionStore``).
    public var projectionWrites: [ProjectionWrite] = []
    /// The projection generation the writes belong to: the commit fails, writing nothing,
    /// unless it is still serving or being built.
    public var projectionFence: ProjectionFence?
    /// The time the store records as the events' `recordedAt`.
    public var recordedAt: Date

    public init(recordedAt: Date) { self.recordedAt = recordedAt }

    /// Whether waiting workers have something new after this commit: events to deliver or
    /// a message scheduled. A commit of only documents, a checkpoint, parked events or
    /// projection rows (most of a subscription's commits) announces nothing: every worker it
    /// woke would scan and find nothing to do.
    public var announcesWork: Bool { !events.isEmpty || !scheduled.isEmpty }

    /// Whether committing would change nothing.
    public var isEmpty: Bool {
        aggregates.isEmpty && events.isEmpty && scheduled.isEmpty && cancelledSchedules.isEmpty
            && deliveredSchedules.isEmpty && (subscription?.isEmpty ?? true) && projectionWrites.isEmpty
    }
}

/// One aggregate document to write.
public struct AggregateWrite: Sendable, Hashable {
    public var stream: StreamID
    /// The version read before the change; 0 means "must not exist yet".
    public var expectedVersion: Int64
    /// The JSON document of the new state.
    public var state: Data

    public init(stream: StreamID, expectedVersion: Int64, state: Data) {
        self.stream = stream
        self.expectedVersion = expectedVersion
        self.state = state
    }

    /// The version the aggregate has after the write.
    public var newVersion: Int64 { expectedVersion + 1 }
}

/// An aggregate document as stored.
public struct StoredAggregate: Sendable, Hashable {
    public var stream: StreamID
    public var version: Int64
    public var state: Data

    public init(stream: StreamID, version: Int64, state: Data) {
        self.stream = stream
        self.version = version
        self.state = state
    }
}

/// What a subscription worker commits together with its handlers' effects.
public struct SubscriptionProgress: Sendable {
    /// The subscription, which owns the parked events and the inbox.
    public var subscription: String
    /// The checkpoint that moves: the subscription's own, or one partition's.
    public var checkpointName: String
    /// Moves the checkpoint from `from` to `to`; the commit fails with
    /// ``StoreError/checkpointMoved(subscription:expected:found:)`` when it is not at `from`.
    public var checkpoint: (from: Int64, to: Int64)?
    /// The lease under which a partition's worker commits: the commit fails with
    /// ``StoreError/leaseLost(subscription:partition:)`` unless it is still the partition's
    /// current lease (same owner and token).
    public var fence: PartitionLease?
    /// Parked events as this commit's author read them: the commit fails with
    /// ``StoreError/parkedEventChanged(subscription:position:)``, and writes nothing, unless
    /// each is still stored with the same status and attempts (compare-and-set). Every
    /// retry, release, replay and discard of an existing parked event names it here; new
    /// parked events need not (the checkpoint move guards them).
    public var expectedParked: [ParkedEvent.Seen] = []
    /// Parked events to insert or replace (keyed by subscription and position).
    public var park: [ParkedEvent] = []
    /// Positions of parked events that are done (handled or discarded).
    public var unpark: [Int64] = []
    /// Event ids to record in the subscription's inbox.
    public var inbox: [UUID] = []

    public init(subscription: String, checkpointName: String? = nil) {
        self.subscription = subscription
        self.checkpointName = checkpointName ?? subscription
    }

    public var isEmpty: Bool { checkpoint == nil && park.isEmpty && unpark.isEmpty && inbox.isEmpty }
}
