import Foundation
import Synchronization
import Logging

/// Runs one ``Subscription`` against a store: reads batches after its checkpoint, calls
/// its handler, and commits the checkpoint with the handler's effects in one transaction.
///
/// Guarantees, for the events this worker commits:
/// - Transactional handlers' effects and the checkpoint move commit together, so each
///   event's effects happen exactly once; a crash before the commit re-delivers the batch.
/// - A failing event is retried per the subscription's ``RetryPolicy`` and then becomes a
///   dead letter; while it waits, later events of its stream are held, so per-stream order
///   is never broken; other streams keep flowing.
///
/// A worker of a partitioned subscription (see ``Partitioning``) handles the streams of one
/// partition, moves that partition's checkpoint, and commits only under the partition's
/// lease, which a ``PartitionCoordinator`` takes and renews for it.
///
/// Tests drive a worker step by step with ``drain(stop:)`` and an injected clock; servers run it
/// in ``HeraldService``.
public final class SubscriptionWorker: Sendable {
    /// What one ``drain(stop:)`` did.
    public struct DrainReport: Sendable, Hashable {
        /// Handler calls that succeeded (or were dropped by the inbox as already handled).
        public var handled = 0
        /// Handler calls that failed.
        public var failed = 0
        /// Events that became dead letters.
        public var deadLettered = 0
        /// Events parked behind an earlier event of their stream.
        public var held = 0
    }

    public let subscription: Subscription
    let store: any SubscriptionProgressStore & ChangesetCommitting & AggregateDocuments & ProjectionStore
    let registry: EventRegistry
    let clock: any HeraldClock
    let random: any RandomSource
    let logger: Logger
    let cache: AggregateCache?
    let metrics: HeraldMetrics?
    let tracing: HeraldTracing?
    /// The partition this worker handles, for a partitioned subscription.
    public let slot: PartitionSlot?
    /// For a projection's worker: the generation its commits belong to.
    let projectionFence: ProjectionFence?
    /// The checkpoint this worker moves: the subscription's, or its partition's.
    public let checkpointName: String
    /// Whether the checkpoint is known to exist (so its start position need not be worked out).
    private let checkpointExists = Mutex(false)
    /// Scans past the stored checkpoint that found nothing to handle, not yet committed:
    /// where the checkpoint stood at the last one, how far they reached, and when the first
    /// happened (see ``run(stop:)``).
    private let skipped = Mutex<(from: Int64, through: Int64, since: Date)?>(nil)
    /// Whether the last read of this worker's parked events found none.
    private let nothingParked = Mutex(false)
    /// How far this worker has seen the log: through this position everything is handled
    /// (committed with the checkpoint) or skipped (``skipped``). Set by a drain that ended
    /// without an error, moved by skipping commits known to be of no concern, `nil` after
    /// a failed one (see ``skipUnconcernedCommits(since:)``).
    private let readThrough = Mutex<Int64?>(nil)

    init(subscription: Subscription, store: any SubscriptionProgressStore & ChangesetCommitting & AggregateDocuments & ProjectionStore, registry: EventRegistry,
         clock: any HeraldClock, random: any RandomSource, logger: Logger, cache: AggregateCache? = nil, metrics: HeraldMetrics? = nil,
         tracing: HeraldTracing? = nil, slot: PartitionSlot? = nil, projectionFence: ProjectionFence? = nil) throws {
        try subscription.validate()
        self.cache = cache
        self.metrics = metrics
        self.tracing = tracing
        self.slot = slot
        self.projectionFence = projectionFence
        if let slot {
            checkpointName = Partitioning.checkpointName(subscription: subscription.name, partition: slot.index, count: slot.partitioning.count)
        } else {
            checkpointName = subscription.name
        }
        self.subscription = subscription
        self.store = store
        self.registry = registry
        self.clock = clock
        self.random = random
        var logger = logger
        logger[metadataKey: "subscription"] = .string(checkpointName)
        self.logger = logger
    }

    private var name: String { subscription.name }

    /// Whether this worker handles `stream` (always, unless the subscription is partitioned).
    private func handles(_ stream: StreamID) -> Bool {
        guard let slot else { return true }
        return slot.partitioning.partition(of: stream) == slot.index
    }

    /// Handles everything that can be handled now: due retries, released held events and
    /// new events, until caught up with the log; then commits the checkpoint to the end of
    /// the log.
    @discardableResult
    public func drain(stop: StopFlag? = nil) async throws -> DrainReport {
        let report = try await drain(stop: stop, deferringSkips: false)
        if stop?.isRequested != true { try await commitSkipped() }
        return report
    }

    /// ``drain()``, where scans that find nothing to handle may leave the checkpoint
    /// behind (`deferringSkips`); a later batch, or ``commitSkipped()``, moves it on.
    @discardableResult
    private func drain(stop: StopFlag?, deferringSkips: Bool) async throws -> DrainReport {
        var report = DrainReport()
        var limit = subscription.batchSize
        var conflicts = 0
        var through: Int64?
        readThrough.withLock { $0 = nil }  // until this drain ends without an error
        while stop?.isRequested != true {
            do {
                _ = try slot?.fence()
                try await createCheckpointIfNeeded()
                // One read serves both steps: the parked events, unless the first step changed
                // them, and the new events (the first step never moves the checkpoint).
                let filter = subscription.eventTypes != nil || slot != nil
                    ? EventFilter(types: subscription.eventTypes, partition: slot?.index, partitionCount: slot?.partitioning.count ?? 1)
                    : nil
                let read = try await store.subscriptionRead(
                    subscription: name, checkpointName: checkpointName, skippedThrough: skipped.withLock { $0?.through },
                    limit: limit, matching: filter)
                let parked = read.parked.filter { handles($0.stream) }
                nothingParked.withLock { $0 = parked.isEmpty }
                let retried = try await handleParked(parked, report: &report)
                let (moreMayWait, readTo) = try await handleNewEvents(
                    read, limit: limit, parked: retried == 0 ? parked : nil, deferringSkips: deferringSkips, report: &report)
                through = readTo
                conflicts = 0
                limit = subscription.batchSize
                if retried == 0 && !moreMayWait { break }
            } catch let conflict as ConcurrencyConflict {
                // Another writer changed an aggregate a handler touched: nothing of the batch
                // was written. Re-run it, smaller, so one hot aggregate cannot starve the rest.
                conflicts += 1
                limit = max(1, limit / 2)
                logger.debug("batch rolled back, retrying", metadata: ["conflict": "\(conflict)"])
                if conflicts > 20 { throw conflict }
            } catch StoreError.checkpointMoved, StoreError.parkedEventChanged {
                // Another worker committed this subscription's progress, or acted on a parked
                // event this batch acted on too; nothing of the batch was written. Read again.
                continue
            }
        }
        readThrough.withLock { $0 = through }
        return report
    }

    /// How long a checkpoint move over events without anything to handle may wait for a
    /// batch to take it along: 100 ms, or the poll interval if shorter.
    public var skipCommitDelay: Duration { min(subscription.pollInterval, .milliseconds(100)) }

    /// The commits that wake a partition's worker: those that appended events of its types
    /// in its partition (with 4 partitions of 5 subscriptions on a node, waking every worker
    /// on every commit cost a capped node half its orders). A worker of a whole subscription
    /// wakes on every commit (`nil`): a commit of other events moves its checkpoint over them
    /// at once, so its lag reads 0 soon after a burst; a partition's checkpoint moves over
    /// other partitions' events at its next pass or poll (``Subscription/pollInterval``).
    var wakeInterest: WakeInterest? {
        slot.map { WakeInterest(eventTypes: subscription.eventTypes, partition: $0.index, partitionCount: $0.partitioning.count) }
    }

    /// Commits the checkpoint move that scans without anything to handle left pending.
    public func commitSkipped() async throws {
        guard let pending = skipped.withLock({ $0 }) else { return }
        guard pending.through > pending.from else {
            skipped.withLock { $0 = nil }
            return
        }
        var progress = SubscriptionProgress(subscription: name, checkpointName: checkpointName)
        progress.checkpoint = (from: pending.from, to: pending.through)
        do {
            try await commit(UnitOfWork(store: store, clock: clock, cause: UnitOfWork.Cause(), cache: cache, tracing: tracing, random: random), progress)
        } catch StoreError.checkpointMoved(_, _, let found) {
            guard let found else { throw StoreError.checkpointRemoved(checkpointName) }
            // Moved meanwhile: by another worker, or by a commit of this one whose success
            // was not reported. What is still ahead of it stays pending, from where it now
            // stands; a checkpoint behind the skip's start leaves positions nobody has
            // looked at, so the skip goes and the next pass reads from the checkpoint.
            // (Keeping `from` as it was made every later attempt fail the same way: the
            // checkpoint stood still until an event of this subscription's came — found
            // by the simulation, one node, seed 4.)
            skipped.withLock { current in
                guard let through = current?.through else { return }
                if found >= through || found < pending.from { current = nil } else { current?.from = found }
            }
            return
        }
        // Skips made meanwhile stay pending, from where the checkpoint now stands.
        skipped.withLock { if $0?.through == pending.through { $0 = nil } else { $0?.from = pending.through } }
    }

    /// Moves this worker past the commits announced since generation `seen`, without
    /// reading them, when the signal knows they appended nothing it wants and nothing else
    /// lies between them (``CommitSignal/unconcernedAppends(since:interest:after:)``): the
    /// move is pending like any skip, committed ``skipCommitDelay`` later or with the next
    /// batch. Only a whole subscription of declared event types does this.
    ///
    /// Every commit of the process wakes every whole subscription (see ``wakeInterest``);
    /// in Mall, eleven read the log after each of an order's commits, and those reads were
    /// a third of the server's instructions per order (`Benchmarks/instructions.sh`).
    ///
    /// - Returns: the generation the skip accounts through; `nil` when the worker must read.
    private func skipUnconcernedCommits(since seen: UInt64) -> UInt64? {
        guard slot == nil, let types = subscription.eventTypes, let through = readThrough.withLock({ $0 }),
              let skip = store.commitSignal.unconcernedAppends(since: seen, interest: WakeInterest(eventTypes: types), after: through)
        else { return nil }
        if skip.through > through {
            let now = clock.now()
            skipped.withLock { pending in
                // Without a pending skip the stored checkpoint is where the last drain left it.
                pending = (from: pending?.from ?? through, through: skip.through, since: pending?.since ?? now)
            }
            readThrough.withLock { $0 = skip.through }
        }
        return skip.generation
    }
    /// The earliest time a parked event of this subscription is due for another attempt.
    public func nextRetryDate() async throws -> Date? {
        try await store.parkedEvents(subscription: name)
            .filter { $0.status == .retrying && handles($0.stream) }
            .compactMap(\.nextAttemptAt)
            .min()
    }

    /// Runs until `stop` is requested or the task is cancelled, waking on in-process commits,
    /// due retries and every ``Subscription/pollInterval``.
    ///
    /// A pass that fails (the store is unreachable or busy, its commit fails) is logged and
    /// retried after ``outageBackOff(afterFailedPasses:)``; it commits nothing and counts no
    /// attempt, whether the store failed under a handler or at the commit. A handler that
    /// throws ``DependencyUnavailable`` pauses the worker the same way, until its
    /// `retryAfter`. Only errors of a handler's own logic count as attempts and park the
    /// event. A partition's worker returns when its lease has passed to another node.
    ///
    /// A scan that finds nothing for this subscription (other event types, other
    /// partitions) does not commit its checkpoint move at once: the next batch that handles
    /// something takes it along, or it is committed ``skipCommitDelay`` after the first such
    /// scan. Under steady traffic that saves a write transaction per commit and
    /// subscription; the checkpoint (and so the reported lag) trails by at most that delay,
    /// and a restart only re-reads those events.
    public func run(stop: StopFlag) async throws {
        let signal = store.commitSignal
        var failedPasses = 0
        var waited: (since: UInt64, until: Date)?
        while !stop.isRequested {
            try Task.checkCancellation()
            var generation = signal.generation
            var deadline = clock.now().adding(subscription.pollInterval)
            do {
                let report: DrainReport
                // Woken by commits (not by the deadline: a poll, a retry due) that are known to
                // be of no concern: move past them without reading.
                if let waited, clock.now() < waited.until, let accounted = skipUnconcernedCommits(since: waited.since) {
                    generation = accounted
                    report = DrainReport()
                } else {
                    report = try await drain(stop: stop, deferringSkips: true)
                }
                if let since = skipped.withLock({ $0?.since }) {
                    let due = since.adding(skipCommitDelay)
                    if due <= clock.now() { try await commitSkipped() } else { deadline = min(deadline, due) }
                }
                // Without parked events at the last look and no new failure, nothing waits for a retry.
                if report.failed > 0 || !nothingParked.withLock({ $0 }), let retryAt = try await nextRetryDate() {
                    deadline = min(deadline, retryAt)
                }
                failedPasses = 0
            } catch is CancellationError {
                throw CancellationError()
            } catch StoreError.leaseLost {
                logger.info("partition lease lost; stopping")
                return
            } catch StoreError.projectionGenerationGone {
                logger.info("projection generation replaced; stopping")
                return
            } catch StoreError.checkpointRemoved(let checkpoint) {
                // Going on would mean starting over from the beginning: stop, loudly.
                logger.error(
                    "checkpoint removed: another node runs this subscription in another number of partitions; stopping",
                    metadata: ["checkpoint": "\(checkpoint)"])
                throw StoreError.checkpointRemoved(checkpoint)
            } catch let unavailable as any DependencyUnavailable {
                let wait = unavailable.retryAfter.map { min(max($0, .milliseconds(100)), .seconds(60)) }
                    ?? outageBackOff(afterFailedPasses: failedPasses + 1)
                deadline = clock.now().adding(wait)
                logger.warning(
                    "subscription paused: its handler's dependency is unavailable; no attempt counted",
                    metadata: ["error": "\(unavailable)", "retryAt": "\(deadline)"])
            } catch {
                if Task.isCancelled { throw CancellationError() }
                failedPasses += 1
                deadline = clock.now().adding(outageBackOff(afterFailedPasses: failedPasses))
                logger.error(
                    "subscription pass failed; nothing was committed, no attempt counted; will retry",
                    metadata: ["error": "\(error)", "failedPasses": "\(failedPasses)", "retryAt": "\(deadline)"])
            }
            if stop.isRequested { break }
            await signal.wait(since: generation, until: deadline, clock: clock, interest: wakeInterest)
            waited = (generation, deadline)
            if subscription.wakeDelay > .zero, !stop.isRequested {
                try? await clock.sleep(until: clock.now().adding(subscription.wakeDelay))
            }
        }
    }

    /// How long to wait after `failedPasses` passes in a row failed (the store is down,
    /// say): the subscription's ``RetryPolicy`` back-off, jittered between half and all of
    /// it, and within 100 ms ... 30 s (a policy without delays must not spin against a store
    /// that is down). An in-process commit, or PostgreSQL's listener reconnecting, wakes the
    /// worker sooner.
    public func outageBackOff(afterFailedPasses failedPasses: Int) -> Duration {
        let delay = subscription.retryPolicy.delay(afterFailedAttempts: failedPasses, unit: 0.5 + random.nextUnit() / 2)
        return min(max(delay, .milliseconds(100)), .seconds(30))
    }

    // MARK: - New events

    /// Creates this worker's checkpoint the first time, with every checkpoint of its layout
    /// (the subscription's one, or each of its partitions') at one agreed position, and
    /// removes an earlier layout's in the same transaction
    /// (``SubscriptionProgressStore/replaceCheckpoints(of:expecting:with:at:)``): partitions
    /// started at different times on different nodes start from the same place, and nodes
    /// still running the old layout find their checkpoint gone and stop instead of
    /// handling the same events again.
    private func createCheckpointIfNeeded() async throws {
        guard !checkpointExists.withLock({ $0 }) else { return }
        let layout = slot.map { slot in
            (0..<slot.partitioning.count).map { Partitioning.checkpointName(subscription: name, partition: $0, count: slot.partitioning.count) }
        } ?? [name]
        for attempt in 1... {
            let current = try await store.checkpoints(of: name)
            if current[checkpointName] != nil { break }
            let siblings = current.filter { layout.contains($0.key) }
            if !siblings.isEmpty {
                // A layout whose partitions were created one at a time, by an earlier Herald.
                let start = subscription.startPosition == .end ? siblings.values.min() ?? 0 : 0
                _ = try await store.checkpoint(of: checkpointName, creatingAt: start)
                break
            }
            do {
                try await store.replaceCheckpoints(of: name, expecting: current, with: layout, at: try await startPosition(replacing: current))
                if !current.isEmpty {
                    logger.notice("subscription moved to \(layout.count) partition(s); the earlier checkpoints are removed",
                                  metadata: ["removed": "\(current.keys.sorted())"])
                }
                break
            } catch StoreError.checkpointMoved where attempt < 20 {
                continue  // another node moved a checkpoint, or laid them out first: look again
            }
        }
        checkpointExists.withLock { $0 = true }
    }

    /// Handles the batch `read` found after the checkpoint (or after a pending skip: nothing
    /// to handle lies before that). With a type filter or a partition the store may skip
    /// the other events' rows; the checkpoint still moves to the end of the scanned range.
    /// `parked` is this worker's parked events if they are known to be current (else they
    /// are read).
    ///
    /// - Returns: whether more events may wait after this batch: `false` once a read came
    ///   back short of `limit` (it reached the end of the log as of that read; anything
    ///   committed since wakes the worker again).
    private func handleNewEvents(
        _ read: SubscriptionRead, limit: Int, parked: [ParkedEvent]?, deferringSkips: Bool, report: inout DrainReport
    ) async throws -> (moreMayWait: Bool, through: Int64) {
        let checkpoint = read.checkpoint, events = read.events
        let scanFrom = max(checkpoint, skipped.withLock { $0?.through } ?? 0)
        guard let last = read.scannedThrough else { return (false, scanFrom) }
        // A filtered scan of fewer than `limit` positions held fewer than `limit` events: it
        // reached the end. (Positions are unique and increasing; a store with gaps in them
        // only costs one more read here.)
        let moreMayWait = events.count >= limit || last - scanFrom >= Int64(limit)
        var progress = SubscriptionProgress(subscription: name, checkpointName: checkpointName)
        progress.checkpoint = (from: checkpoint, to: last)
        guard !events.isEmpty else {
            if deferringSkips {
                skipped.withLock { $0 = (from: checkpoint, through: last, since: $0?.since ?? clock.now()) }
            } else {
                try await commit(UnitOfWork(store: store, clock: clock, cause: UnitOfWork.Cause(), cache: cache, tracing: tracing, random: random), progress)
                skipped.withLock { $0 = nil }
            }
            return (moreMayWait, last)
        }
        let current = if let parked { parked } else { try await store.parkedEvents(subscription: name) }
        var blocked = Set(current.map(\.stream))
        let work = UnitOfWork(store: store, clock: clock, cause: UnitOfWork.Cause(), cache: cache, tracing: tracing, random: random)
        var batchReport = report
        for event in events where subscription.wants(event) && handles(event.stream) {
            if blocked.contains(event.stream) {
                progress.park.append(ParkedEvent(holding: event, for: name))
                batchReport.held += 1
                continue
            }
            if let failure = try await attempt(event, previousAttempts: 0, work: work) {
                let entry = failedEntry(for: event, attempts: 1, error: failure, previous: nil)
                progress.park.append(entry)
                batchReport.record(entry)
                blocked.insert(event.stream)
            } else {
                batchReport.handled += 1
            }
        }
        let appended = try await commit(work, progress)
        skipped.withLock { $0 = nil }
        report = batchReport
        return (moreMayWait || appended > 0, last)  // the batch's own events are new events too
    }

    // MARK: - Parked events

    /// Retries due heads of parked streams and releases held events behind handled or
    /// discarded ones, stream by stream, in position order.
    private func handleParked(_ parked: [ParkedEvent], report: inout DrainReport) async throws -> Int {
        let now = clock.now()
        guard !parked.isEmpty else { return 0 }
        let streams = Dictionary(grouping: parked, by: \.stream).values
            .map { $0.sorted { $0.position < $1.position } }
            .filter { entries in
                let head = entries[0]
                return head.status == .held || (head.status == .retrying && (head.nextAttemptAt ?? now) <= now)
            }
            .sorted { $0[0].position < $1[0].position }
        guard !streams.isEmpty else { return 0 }
        let events = Dictionary(
            uniqueKeysWithValues: try await store.events(at: streams.flatMap { $0.map(\.position) }).map { ($0.position, $0) })
        var progress = SubscriptionProgress(subscription: name, checkpointName: checkpointName)
        let work = UnitOfWork(store: store, clock: clock, cause: UnitOfWork.Cause(), cache: cache, tracing: tracing, random: random)
        var batchReport = report
        var attempted = 0
        for entries in streams {
            for entry in entries {
                guard entry.status != .dead else { break }
                // Whatever happens to this entry below commits only if no one else acted on it meanwhile.
                progress.expectedParked.append(entry.seen)
                guard let event = events[entry.position] else {
                    progress.unpark.append(entry.position)  // pruned from the log: nothing to deliver
                    continue
                }
                attempted += 1
                if let failure = try await attempt(event, previousAttempts: entry.attempts, failingSince: entry.firstFailedAt, work: work) {
                    let failed = failedEntry(for: event, attempts: entry.attempts + 1, error: failure, previous: entry)
                    progress.park.append(failed)
                    batchReport.record(failed)
                    break
                }
                batchReport.handled += 1
                progress.unpark.append(entry.position)
            }
        }
        try await commit(work, progress)
        report = batchReport
        return attempted
    }

    // MARK: - Handling one event

    /// Calls the handler; returns the error when it failed. A transactional handler's
    /// staged changes are dropped when it fails.
    ///
    /// Events the handler records say who recorded them (``UnitOfWork/Cause/handling(_:by:attempt:failingSince:)``).
    private func attempt(_ event: EventEnvelope, previousAttempts: Int, failingSince: Date? = nil, work: UnitOfWork) async throws -> (any Error)? {
        let delivery = Delivery(envelope: event, previousAttempts: previousAttempts, registry: registry)
        let cause = UnitOfWork.Cause.handling(event, by: name, attempt: previousAttempts + 1, failingSince: failingSince)
        // The cause is the task's for the whole attempt, so that every line logged about it
        // (its failure too) can say which event and chain it belongs to.
        return try await UnitOfWork.Cause.$current.withValue(cause) {
            do {
                if let tracing {
                    try await tracing.withSpan(
                        "herald.handle", parent: tracing.context(of: event), kind: .consumer,
                        attributes: [
                            "herald.subscription": .string(name), "herald.event_type": .string(event.eventType),
                            "herald.event_id": .string(event.eventID.uuidString), "herald.position": .int64(event.position),
                            "herald.attempt": .int64(Int64(previousAttempts + 1)),
                        ]
                    ) { try await measuredCall(delivery, work: work) }
                } else {
                    try await measuredCall(delivery, work: work)
                }
                return nil
            } catch {
                if Task.isCancelled { throw CancellationError() }
                // The store failed under the handler (or its inbox), or the handler's dependency
                // is out: not the event's fault. End the pass uncommitted; no attempt is counted.
                if StoreError.isOutage(error) || error is any DependencyUnavailable { throw error }
                logger.warning(
                    "handler failed",
                    metadata: ["position": "\(event.position)", "eventType": "\(event.eventType)",
                               "attempt": "\(previousAttempts + 1)", "error": "\(error)"])
                return error
            }
        }
    }

    private func measuredCall(_ delivery: Delivery, work: UnitOfWork) async throws {
        guard let metrics else { return try await call(delivery, work: work) }
        try await metrics.handler(name) { try await call(delivery, work: work) }
    }

    /// One call of the handler, with its inbox check and entry for an external one.
    private func call(_ delivery: Delivery, work: UnitOfWork) async throws {
        let event = delivery.envelope
        switch subscription.handler {
        case .transactional(let handle):
            work.cause = UnitOfWork.Cause.current
            work.beginSavepoint()
            do {
                try await handle(delivery, work)
                work.releaseSavepoint()
            } catch {
                work.rollbackToSavepoint()
                throw error
            }
        case .external(let inbox, let handle):
            if inbox, try await store.inboxContains(subscription: name, eventID: event.eventID) { return }
            try await handle(delivery)
            if inbox {
                var changeset = Changeset(recordedAt: clock.now())
                changeset.subscription = SubscriptionProgress(subscription: name)
                changeset.subscription?.inbox = [event.eventID]
                _ = try await store.commit(changeset)
            }
        }
    }

    private func failedEntry(for event: EventEnvelope, attempts: Int, error: any Error, previous: ParkedEvent?) -> ParkedEvent {
        let now = clock.now()
        let policy = subscription.retryPolicy
        let dead = error is any PermanentFailure || attempts >= policy.maxAttempts
        let delay = policy.delay(afterFailedAttempts: attempts, unit: random.nextUnit())
        return ParkedEvent(
            subscription: name, position: event.position, eventID: event.eventID, stream: event.stream,
            eventType: event.eventType, status: dead ? .dead : .retrying, attempts: attempts,
            nextAttemptAt: dead ? nil : now.adding(delay),
            firstFailedAt: previous?.firstFailedAt ?? now, lastFailedAt: now,
            lastError: String(describing: error))
    }

    /// Commits the handlers' changes with `progress`; returns how many events it appended.
    @discardableResult
    private func commit(_ work: UnitOfWork, _ progress: SubscriptionProgress) async throws -> Int {
        var changeset = try work.makeChangeset(recordedAt: clock.now())
        changeset.subscription = progress
        guard !changeset.isEmpty else { return 0 }
        changeset.subscription?.fence = try slot?.fence()
        changeset.projectionFence = projectionFence
        return try await store.commit(changeset, countedAs: .subscription, in: metrics).count
    }

    /// Where a new layout starts: where the one it replaces (`current`) stands — a
    /// subscription that was not partitioned before, or whose partition count changed while
    /// it was caught up — or, for a new subscription, its ``Subscription/startPosition``.
    ///
    /// - Throws: ``ConfigurationError`` when the checkpoints of `current` differ: a new count
    ///   cannot take over from them without losing or repeating events.
    private func startPosition(replacing current: [String: Int64]) async throws -> Int64 {
        if let position = current.values.first {
            guard current.values.allSatisfy({ $0 == position }) else {
                throw ConfigurationError(
                    setting: "Partitioning.count (\(name))", value: "\(slot?.partitioning.count ?? 1)",
                    allowed: "the count of its existing checkpoints (\(current.keys.sorted().joined(separator: ", "))) "
                        + "until they all stand at one position; run the old count until caught up with writes stopped")
            }
            return position
        }
        return subscription.startPosition == .end ? try await store.headPosition() : 0
    }
}

extension SubscriptionWorker.DrainReport {
    mutating func record(_ failure: ParkedEvent) {
        failed += 1
        if failure.status == .dead { deadLettered += 1 }
    }
}

/// A request to stop, checked between batches so in-flight work finishes cleanly.
public final class StopFlag: Sendable {
    private let requested = Mutex(false)

    public init() {}

    public var isRequested: Bool { requested.withLock { $0 } }

    public func request() { requested.withLock { $0 = true } }
}
