import CoreMetrics
import Foundation
import Herald
import Logging
import Resilience
import ServiceLifecycle
import Synchronization

/// Runs recurring jobs on every node that shares a store, each item of a job on one live
/// node at a time, and fails an item over to another node when its node dies.
///
/// Every ``tickInterval`` a node heartbeats in the group `herald.jobs`, takes or renews the
/// leases of the items that belong to it among the live nodes (item `i` of a job is the
/// `i % k`-th of the `k` nodes, sorted, as with a partitioned subscription), and runs the
/// items that are due. A dead node's items move once its heartbeat and leases expire. On
/// SQLite, with one node, that node runs every item.
///
/// The guarantees:
/// - **Once per fire time.** A run is claimed by committing the item's state at the version
///   read; two nodes that both think they own an item (a lease passing hands) cannot both
///   claim one fire time: one commit fails and that node runs nothing.
/// - **No overlap.** An item claimed and not yet ended is not claimed again until its
///   node has lost the item's lease (a node that stops renewing: dead, or cut off from the
///   store), or its timeout and a lease duration have passed; the run counts as abandoned.
///   A node keeps renewing the lease of an item it is running even once the item belongs
///   to another node (a node joined): the item moves when the run ends. A node that finds
///   the lease of an item it is running taken cancels that run.
/// - **Misfires.** Fire times found later than ``Job/misfireThreshold`` (the job was not
///   running anywhere, say) are run once or skipped, per ``Job/misfire``; never one run each.
/// - Pause, resume and manual triggers are stored (``pause(_:by:)``…) and announced: every
///   node applies them at its next tick, within ``tickInterval`` (sooner on PostgreSQL).
public final class JobScheduler: Service, Sendable {
    public let engine: HeraldEngine
    public let jobs: [Job]
    /// This node's name in heartbeats, leases and run history.
    public let node: String
    public let tickInterval: Duration
    public let leaseDuration: Duration
    public let retention: JobRetention
    let logger: Logger
    /// Items with a run in progress on this node, by `job#item`.
    private let inFlight = Mutex<[String: RunUnderWay]>([:])
    /// Runs that ended here whose end could not be stored (the store was unreachable, say),
    /// by `job#item`: stored at the next ticks, so the item is free again as soon as the
    /// store is, not only once the run counts as abandoned (its timeout and a lease later).
    private let unrecordedEnds = Mutex<[String: (running: JobItemState.Running, record: JobRunRecord)]>([:])
    /// The live nodes at the last heartbeat and when it was, and the leases this node holds
    /// (by `job#item`): renewed only once a third of their time is gone, not every tick.
    private let held = Mutex<(nodes: [String], heartbeatAt: Date?, leases: [String: PartitionLease])>(([], nil, [:]))

    /// The heartbeat group of job nodes, and the announcement of a control change.
    public static let group = "herald.jobs"

    /// - Throws: ``ConfigurationError`` for two jobs of one name or unworkable durations.
    public init(
        engine: HeraldEngine, jobs: [Job], tickInterval: Duration = .seconds(1), leaseDuration: Duration = .seconds(10),
        retention: JobRetention = JobRetention(), logger: Logger? = nil
    ) throws {
        let names = jobs.map(\.name)
        guard Set(names).count == names.count else {
            throw ConfigurationError(setting: "JobScheduler.jobs", value: names.joined(separator: ", "), allowed: "jobs of different names")
        }
        guard tickInterval > .zero, tickInterval * 2 <= leaseDuration else {
            throw ConfigurationError(
                setting: "JobScheduler.tickInterval", value: "\(tickInterval)", allowed: "more than zero and at most half the lease duration (\(leaseDuration))")
        }
        self.engine = engine
        self.jobs = jobs
        self.node = engine.node
        self.tickInterval = tickInterval
        self.leaseDuration = leaseDuration
        self.retention = retention
        self.logger = logger ?? engine.logger
    }

    var clock: any HeraldClock { engine.clock }

    // MARK: - Running

    /// Ticks until cancelled or a graceful shutdown; then waits for the runs under way.
    public func run() async throws {
        let wake = engine.announcements.signal(Self.group)
        await withTaskGroup(of: Void.self) { group in
            await wake.repeatedly(every: tickInterval, clock: clock) {
                do {
                    try await tick { run in group.addTask { await run() } }
                } catch {
                    logger.warning("job scheduler tick failed; trying again", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// One tick, its runs awaited: for tests and tools driving the scheduler by hand.
    /// Returns what ran.
    @discardableResult
    public func runDue() async throws -> [JobRunRecord] {
        let runs = Mutex<[@Sendable () async -> JobRunRecord?]>([])
        try await tick(collect: { run in runs.withLock { $0.append(run) } })
        return await withTaskGroup(of: JobRunRecord?.self) { group in
            for run in runs.withLock({ $0 }) { group.addTask { await run() } }
            var records: [JobRunRecord] = []
            for await record in group { if let record { records.append(record) } }
            return records.sorted { ($0.job, $0.item) < ($1.job, $1.item) }
        }
    }

    func tick(launch: (@escaping @Sendable () async -> Void) -> Void) async throws {
        try await tick(collect: { run in launch { _ = await run() } })
    }

    private func tick(collect: (@escaping @Sendable () async -> JobRunRecord?) -> Void) async throws {
        await recordEndsLeftOver()
        let now = clock.now()
        let expiresAt = now.adding(leaseDuration)
        let renewBefore = now.adding(leaseDuration * 2 / 3)  // renew what expires within two thirds of a lease
        var (nodes, heartbeatAt, leases) = held.withLock { $0 }
        if heartbeatAt.map({ $0.adding(leaseDuration / 3) <= now }) ?? true {
            nodes = try await engine.store.heartbeat(group: Self.group, node: node, now: now, expiresAt: expiresAt)
            heartbeatAt = now
        }
        var kept: [String: PartitionLease] = [:]
        defer { held.withLock { $0 = (nodes, heartbeatAt, kept) } }
        for job in jobs {
            let control = try await engine.unitOfWork().load(JobControl.self, id: job.name)
            let mine = Set(Partitioning(count: job.itemCount, leaseDuration: leaseDuration).partitions(of: node, among: nodes, group: job.name))
            let running = inFlight.withLock { $0 }
            for item in 0..<job.itemCount {
                let key = JobItemState.id(job: job.name, item: item)
                let underWay = running[key]
                guard mine.contains(item) || underWay != nil else { continue }
                var lease = leases[key]
                if lease.map({ $0.expiresAt <= renewBefore }) ?? true {
                    lease = try await engine.store.acquireLease(
                        subscription: Self.leaseName(job.name), partition: item, owner: node, now: now, expiresAt: expiresAt)
                }
                guard let lease else {
                    if let underWay {
                        logger.warning("another node took the lease of an item running here; cancelling the run", metadata: ["job": "\(job.name)", "item": "\(item)"])
                        underWay.cancel()
                    }
                    continue
                }
                kept[key] = lease
                guard mine.contains(item), underWay == nil else { continue }  // renewed for the run under way only
                guard let claimed = try await claim(job, item: item, control: control, lease: lease, now: now) else { continue }
                let run = RunUnderWay()
                inFlight.withLock { $0[key] = run }
                collect {
                    defer { self.inFlight.withLock { _ = $0.removeValue(forKey: key) } }
                    return await self.execute(job, item: item, claimed, run)
                }
            }
        }
        // Items this node no longer keeps (another node's now, their runs ended): handed over at once.
        for (key, lease) in leases where kept[key] == nil && lease.expiresAt > now {
            do { try await engine.store.releaseLease(lease) } catch {
                logger.warning("releasing a job item's lease failed; it will expire", metadata: ["item": "\(key)", "error": "\(error)"])
            }
        }
    }

    static func leaseName(_ job: String) -> String { "job:\(job)" }

    /// Claims the item's next run, if one is due: a commit of its state at the version read.
    private func claim(_ job: Job, item: Int, control: JobControl?, lease: PartitionLease, now: Date) async throws -> JobItemState.Running? {
        do {
            let (running, recorded) = try await engine.perform(attempts: 1) { work -> (JobItemState.Running?, [JobRunRecord]) in
                let id = JobItemState.id(job: job.name, item: item)
                guard let loaded = try await work.load(JobItemState.self, id: id) else {
                    var first = JobItemState(id: id, scheduledThrough: now, lastTriggerRun: control?.triggeredAt)
                    try work.save(&first)  // first sight: scheduled from now on
                    return (nil, [])
                }
                var state = loaded, records: [JobRunRecord] = []
                if let running = state.running {
                    // Still under way, unless its node lost the item's lease since (it stopped
                    // renewing: dead, or cut off from the store) or its time is long up.
                    let leaseMoved = lease.token > running.leaseToken
                    guard leaseMoved || running.startedAt.adding(job.timeout + leaseDuration) <= now else { return (nil, []) }
                    records.append(JobRunRecord(
                        job: job.name, item: item, fireTime: running.fireTime, trigger: running.trigger, node: running.node,
                        startedAt: running.startedAt, endedAt: now, outcome: .abandoned,
                        error: leaseMoved ? "its node lost the item's lease before recording an end" : "no end recorded within its timeout"))
                    state.running = nil
                }
                var due: (fireTime: Date, trigger: JobRunRecord.Trigger)?
                if let triggered = control?.triggeredAt, triggered > (state.lastTriggerRun ?? .distantPast) {
                    state.lastTriggerRun = triggered
                    due = (triggered, .manual)
                } else if let first = job.schedule.nextFire(after: state.scheduledThrough), first <= now {
                    var latest = first
                    while let next = job.schedule.nextFire(after: latest), next <= now { latest = next }
                    state.scheduledThrough = latest
                    let late = now.timeIntervalSince(first) > job.misfireThreshold.timeInterval
                    switch (control?.paused ?? false, late, job.misfire) {
                    case (true, _, _): break  // paused: the fire times pass unrun
                    case (false, false, _): due = (latest, .schedule)
                    case (false, true, .runOnce): due = (latest, .misfire)
                    case (false, true, .skip):
                        records.append(JobRunRecord(
                            job: job.name, item: item, fireTime: latest, trigger: .misfire, node: node, startedAt: now, endedAt: now,
                            outcome: .skipped, error: "fire times from \(first.formatted(.iso8601)) missed"))
                    }
                }
                if let due {
                    state.running = JobItemState.Running(node: node, fireTime: due.fireTime, trigger: due.trigger, startedAt: now, leaseToken: lease.token)
                }
                guard state.scheduledThrough != loaded.scheduledThrough || state.running != loaded.running
                    || state.lastTriggerRun != loaded.lastTriggerRun || !records.isEmpty
                else { return (nil, []) }  // nothing due: no commit
                try work.save(&state)
                if !records.isEmpty { try await record(records, in: work, id: id, now: now) }
                return (due == nil ? nil : state.running, records)
            }
            for record in recorded { count(record) }
            return running
        } catch is ConcurrencyConflict {
            return nil  // another node claimed or changed the item meanwhile
        }
    }

    private func execute(_ job: Job, item: Int, _ running: JobItemState.Running, _ underWay: RunUnderWay) async -> JobRunRecord? {
        let run = JobRun(
            job: job.name, item: item, itemCount: job.itemCount, parameter: job.itemParameters[item], fireTime: running.fireTime,
            trigger: running.trigger, node: node)
        var outcome = JobRunRecord.Outcome.succeeded, failure: String?
        do {
            try await underWay.run { [clock] in try await withTimeout(job.timeout, clock: clock) { try await job.body(run) } }
        } catch where underWay.isCancelled {
            (outcome, failure) = (.failed, "cancelled: this node lost the item's lease")
        } catch let timedOut as TimedOut {
            (outcome, failure) = (.timedOut, timedOut.description)
        } catch {
            (outcome, failure) = (.failed, "\(error)")
        }
        let record = JobRunRecord(
            job: job.name, item: item, fireTime: running.fireTime, trigger: running.trigger, node: node, startedAt: running.startedAt,
            endedAt: clock.now(), outcome: outcome, error: failure)
        if outcome != .succeeded {
            logger.warning("job run did not succeed", metadata: ["job": "\(job.name)", "item": "\(item)", "outcome": "\(outcome.rawValue)", "error": "\(failure ?? "")"])
        }
        do {
            if try await recordEnd(running, record) { count(record) }  // after its history: a scrape that sees the count sees the run
        } catch {
            logger.error(
                "could not record a job run's end; trying again at the next ticks", metadata: ["job": "\(job.name)", "item": "\(item)", "error": "\(error)"])
            unrecordedEnds.withLock { $0[JobItemState.id(job: job.name, item: item)] = (running, record) }
        }
        return record
    }

    /// Ends the item's run `running` in its state and adds `record` to its history, unless
    /// the run was taken over meanwhile (counted as abandoned by a tick): then nothing, and
    /// false. So it can be tried again after a failure whose commit may or may not have landed.
    private func recordEnd(_ running: JobItemState.Running, _ record: JobRunRecord) async throws -> Bool {
        try await engine.perform { work in
            let id = JobItemState.id(job: record.job, item: record.item)
            guard var state = try await work.load(JobItemState.self, id: id), state.running == running else { return false }
            state.running = nil
            try work.save(&state)
            try await self.record([record], in: work, id: id, now: record.endedAt)
            return true
        }
    }

    /// Stores the ends ``execute(_:item:_:_:)`` could not; those that fail again wait for the next tick.
    private func recordEndsLeftOver() async {
        for (key, end) in unrecordedEnds.withLock({ $0 }) {
            let recorded: Bool
            do {
                recorded = try await recordEnd(end.running, end.record)
            } catch {
                logger.debug("a job run's end is still not recorded", metadata: ["item": "\(key)", "error": "\(error)"])
                continue
            }
            unrecordedEnds.withLock { _ = $0.removeValue(forKey: key) }
            guard recorded else { continue }  // taken over meanwhile: its history says abandoned
            logger.notice("recorded a job run's end that could not be recorded when it ended", metadata: ["item": "\(key)"])
            count(end.record)
        }
    }

    /// Counts a run that ended, through the engine's metrics (if it has any):
    /// `scheduling_job_runs_total{job, outcome}` and, for runs that ran here,
    /// `scheduling_job_run_duration_seconds{job}`.
    private func count(_ record: JobRunRecord) {
        guard let metrics = engine.metrics else { return }
        metrics.counter("scheduling_job_runs_total", [("job", record.job), ("outcome", record.outcome.rawValue)]).increment()
        if record.outcome != .skipped, record.outcome != .abandoned {
            metrics.timer("scheduling_job_run_duration_seconds", [("job", record.job)])
                .recordNanoseconds(Int64(record.endedAt.timeIntervalSince(record.startedAt) * 1e9))
        }
    }

    /// Adds runs to the history of the item `id` (``JobItemState/id(job:item:)``).
    private func record(_ records: [JobRunRecord], in work: UnitOfWork, id: String, now: Date) async throws {
        var book = try await work.load(JobHistoryBook.self, id: id) ?? JobHistoryBook(id: id)
        for record in records { book.append(record, retention: retention, now: now) }
        try work.save(&book)
    }
}

/// A run under way on this node, which the scheduler cancels when the item's lease is lost.
final class RunUnderWay: Sendable {
    private let state = Mutex<(task: Task<Void, any Error>?, cancelled: Bool)>((nil, false))

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    func cancel() {
        let task = state.withLock { state in
            state.cancelled = true
            return state.task
        }
        task?.cancel()
    }

    /// Runs `body` in a task of its own, which ``cancel()`` cancels (as does cancelling the caller).
    func run(_ body: @escaping @Sendable () async throws -> Void) async throws {
        let task = Task { try await body() }
        let cancelled = state.withLock { state in
            state.task = task
            return state.cancelled
        }
        if cancelled { task.cancel() }
        try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }
}
