import Foundation
import Herald

/// What an operator sees of a job.
public struct JobStatus: Sendable, Hashable {
    public struct Item: Sendable, Hashable {
        public var item: Int
        public var parameter: String
        /// The node holding the item's lease, if it has not expired.
        public var owner: String?
        /// The run under way: its fire time and node.
        public var runningSince: Date?
    }

    public var name: String
    public var schedule: String
    public var paused: Bool
    /// The next fire time from now (also shown while paused: when it would fire).
    public var nextFire: Date?
    public var lastRun: JobRunRecord?
    public var items: [Item]
}

/// A job name that no job has.
public struct UnknownJob: Error, Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var known: [String]
    public var description: String { "no job \(name); the jobs are \(known.joined(separator: ", "))" }
}

extension JobScheduler {
    /// Pauses a job's scheduled runs on every node (runs under way finish; a manual trigger
    /// still runs). Fire times that pass while paused are not run later.
    public func pause(_ job: String, by: String) async throws { try await control(job, action: "pause", by: by) { $0.paused = true } }

    /// Resumes a paused job from its next fire time.
    public func resume(_ job: String, by: String) async throws { try await control(job, action: "resume", by: by) { $0.paused = false } }

    /// Runs every item of a job once now, paused or not.
    public func trigger(_ job: String, by: String) async throws {
        let now = clock.now()
        try await control(job, action: "trigger", by: by) { $0.triggeredAt = max(now, $0.triggeredAt.map { $0.addingTimeInterval(0.001) } ?? now) }
    }

    private func control(_ job: String, action: String, by: String, _ change: @escaping @Sendable (inout JobControl) -> Void) async throws {
        try requireJob(job)
        let now = clock.now()
        try await engine.perform { work in
            var control = try await work.load(JobControl.self, id: job) ?? JobControl(id: job)
            change(&control)
            control.changes = Array((control.changes + [JobControl.Change(at: now, action: action, by: by)]).suffix(JobControl.changeLimit))
            try work.save(&control)
        }
        await engine.announceChange(Self.group)
    }

    /// Every job with its schedule, next fire time, last run and items' owners.
    public func status() async throws -> [JobStatus] {
        let now = clock.now()
        var statuses: [JobStatus] = []
        for job in jobs {
            let work = engine.unitOfWork()
            let control = try await work.load(JobControl.self, id: job.name)
            let leases = Dictionary(try await engine.store.leases(subscription: Self.leaseName(job.name)).map { ($0.partition, $0) }) { $1 }
            var items: [JobStatus.Item] = []
            var lastRun: JobRunRecord?
            for item in 0..<job.itemCount {
                let id = JobItemState.id(job: job.name, item: item)
                let state = try await work.load(JobItemState.self, id: id)
                if let last = try await work.load(JobHistoryBook.self, id: id)?.runs.last, last.endedAt >= (lastRun?.endedAt ?? .distantPast) {
                    lastRun = last
                }
                let lease = leases[item].flatMap { $0.expiresAt > now ? $0 : nil }
                items.append(JobStatus.Item(item: item, parameter: job.itemParameters[item], owner: lease?.owner, runningSince: state?.running?.startedAt))
            }
            statuses.append(JobStatus(
                name: job.name, schedule: job.schedule.description, paused: control?.paused ?? false, nextFire: job.schedule.nextFire(after: now),
                lastRun: lastRun, items: items))
        }
        return statuses
    }

    /// A job's latest runs, of all its items, the last to end first.
    public func history(_ job: String, limit: Int = 100) async throws -> [JobRunRecord] {
        try requireJob(job)
        let work = engine.unitOfWork()
        var runs: [JobRunRecord] = []
        for item in 0..<(jobs.first { $0.name == job }?.itemCount ?? 0) {
            runs += try await work.load(JobHistoryBook.self, id: JobItemState.id(job: job, item: item))?.runs ?? []
        }
        runs.sort { ($0.endedAt, $0.item) > ($1.endedAt, $1.item) }
        return Array(runs.prefix(max(limit, 0)))
    }

    private func requireJob(_ name: String) throws {
        guard jobs.contains(where: { $0.name == name }) else { throw UnknownJob(name: name, known: jobs.map(\.name)) }
    }
}
