import Foundation
import Herald

/// Where one item of a job stands: the fire time it was last scheduled through, the run in
/// progress, and the last manual trigger it ran. Every claim of a run is a commit of this
/// document at the version read, so two nodes cannot both claim one fire time.
struct JobItemState: AggregateRoot {
    static let streamType = "JobItem"
    let id: String
    /// Fire times up to this one are done (run, skipped, or before the job was first seen).
    var scheduledThrough: Date
    var running: Running?
    var lastTriggerRun: Date?
    var pendingEvents = PendingEvents()

    struct Running: Codable, Sendable, Hashable {
        var node: String
        var fireTime: Date
        var trigger: JobRunRecord.Trigger
        var startedAt: Date
        /// The item's lease token when it was claimed.
        var leaseToken: Int64
    }

    static func id(job: String, item: Int) -> String { "\(job)#\(item)" }
}

/// An operator's hold on a job: paused or not, and the latest manual trigger.
struct JobControl: AggregateRoot {
    static let streamType = "JobControl"
    let id: String
    var paused = false
    var triggeredAt: Date?
    var changes: [Change] = []
    var pendingEvents = PendingEvents()

    struct Change: Codable, Sendable, Hashable {
        var at: Date
        var action: String
        var by: String
    }

    static let changeLimit = 50
}

/// One item's latest runs, bounded by count and age. One book per item, not per job: the
/// items of a job end at the same moment on several nodes, and would all rewrite one
/// document (measured with 16 items of a job ending together: most ends failed on version
/// conflicts, their items left "running").
struct JobHistoryBook: AggregateRoot {
    static let streamType = "JobItemHistory"
    let id: String
    var runs: [JobRunRecord] = []
    var pendingEvents = PendingEvents()

    mutating func append(_ run: JobRunRecord, retention: JobRetention, now: Date) {
        runs.append(run)
        let oldest = now.addingTimeInterval(-retention.age.timeInterval)
        runs.removeAll { $0.endedAt < oldest }
        if runs.count > retention.runsPerItem { runs.removeFirst(runs.count - retention.runsPerItem) }
    }
}

/// How much run history is kept per item of a job: at most `runsPerItem` runs, none older
/// than `age`.
public struct JobRetention: Sendable, Hashable {
    public var runsPerItem: Int
    public var age: Duration

    public init(runsPerItem: Int = 200, age: Duration = .seconds(7 * 86_400)) {
        self.runsPerItem = runsPerItem
        self.age = age
    }
}
