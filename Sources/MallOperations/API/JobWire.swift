import Foundation
import Scheduling

/// `POST /admin/jobs/{name}/trigger|pause|resume`.
public struct JobActionRequest: Decodable, Sendable {
    public var by: String
}

/// A job as the API shows it.
public struct JobStatusBody: Encodable, Sendable {
    public struct Item: Encodable, Sendable {
        public var item: Int
        public var parameter: String
        public var owner: String?
        public var runningSince: Date?
    }

    public var name: String
    public var schedule: String
    public var paused: Bool
    public var nextFire: Date?
    public var lastRun: JobRunBody?
    public var items: [Item]

    init(_ status: JobStatus) {
        name = status.name
        schedule = status.schedule
        paused = status.paused
        nextFire = status.nextFire
        lastRun = status.lastRun.map(JobRunBody.init)
        items = status.items.map { Item(item: $0.item, parameter: $0.parameter, owner: $0.owner, runningSince: $0.runningSince) }
    }
}

/// One run of a job item.
public struct JobRunBody: Encodable, Sendable {
    public var job: String
    public var item: Int
    public var fireTime: Date
    public var trigger: String
    public var node: String
    public var startedAt: Date
    public var endedAt: Date
    public var outcome: String
    public var error: String?

    /// Whether the run succeeded (its ``outcome`` is `succeeded`).
    public var succeeded: Bool { outcome == JobRunRecord.Outcome.succeeded.rawValue }

    init(_ run: JobRunRecord) {
        job = run.job
        item = run.item
        fireTime = run.fireTime
        trigger = run.trigger.rawValue
        node = run.node
        startedAt = run.startedAt
        endedAt = run.endedAt
        outcome = run.outcome.rawValue
        error = run.error
    }
}
