import Foundation
import Herald

/// A recurring job: what runs, when, split into how many items, and how long a run may take.
///
/// Each fire time runs every item once, on whichever live node the item belongs to (items
/// are spread over the nodes as a partitioned subscription's partitions are, with Herald's
/// leases). An item never runs twice for one fire time, and never overlaps itself.
///
/// ```swift
/// let sweeper = try Job(name: "payment-deadlines", schedule: CronSchedule("*/1 * * * *"), items: 4) { run in
///     try await sweepDeadlines(shard: run.item, of: run.itemCount, now: run.fireTime)
/// }
/// ```
public struct Job: Sendable {
    /// What to do about fire times that passed while no node ran the job (downtime), or
    /// that were found more than ``Job/misfireThreshold`` late.
    public enum MisfirePolicy: String, Sendable, Codable, CaseIterable {
        /// Run once now, for the latest missed fire time.
        case runOnce = "run-once"
        /// Run nothing; wait for the next fire time.
        case skip
    }

    /// Letters, digits, `.`, `-` and `_`; 1 to 64 of them.
    public let name: String
    public let schedule: CronSchedule
    /// The parameter of each item (its count is the job's number of items).
    public let itemParameters: [String]
    /// How long one item's run may take before it is cancelled and counted as timed out.
    public var timeout: Duration
    public var misfire: MisfirePolicy
    /// How late a fire may be found and still count as on time.
    public var misfireThreshold: Duration
    public let body: @Sendable (JobRun) async throws -> Void

    /// - Parameters:
    ///   - items: how many sharding items (1 ... 1024), each with an empty parameter.
    /// - Throws: ``ConfigurationError`` naming the setting.
    public init(
        name: String, schedule: CronSchedule, items: Int = 1, timeout: Duration = .seconds(60), misfire: MisfirePolicy = .runOnce,
        misfireThreshold: Duration = .seconds(60), _ body: @escaping @Sendable (JobRun) async throws -> Void
    ) throws {
        try self.init(
            name: name, schedule: schedule, itemParameters: Array(repeating: "", count: max(items, 0)), timeout: timeout, misfire: misfire,
            misfireThreshold: misfireThreshold, body)
    }

    /// A job whose items carry parameters (e.g. the regions or tables each one covers).
    public init(
        name: String, schedule: CronSchedule, itemParameters: [String], timeout: Duration = .seconds(60), misfire: MisfirePolicy = .runOnce,
        misfireThreshold: Duration = .seconds(60), _ body: @escaping @Sendable (JobRun) async throws -> Void
    ) throws {
        try Announcements.validate(name)  // the same alphabet as a topic: safe in names and URLs
        guard (1...1024).contains(itemParameters.count) else {
            throw ConfigurationError(setting: "Job.items (\(name))", value: "\(itemParameters.count)", allowed: "1 ... 1024")
        }
        guard timeout >= .milliseconds(10), timeout <= .seconds(86_400) else {
            throw ConfigurationError(setting: "Job.timeout (\(name))", value: "\(timeout)", allowed: "10 ms ... 24 h")
        }
        guard misfireThreshold >= .zero else {
            throw ConfigurationError(setting: "Job.misfireThreshold (\(name))", value: "\(misfireThreshold)", allowed: "zero or more")
        }
        self.name = name
        self.schedule = schedule
        self.itemParameters = itemParameters
        self.timeout = timeout
        self.misfire = misfire
        self.misfireThreshold = misfireThreshold
        self.body = body
    }

    public var itemCount: Int { itemParameters.count }
}

/// One item's run, as its body sees it.
public struct JobRun: Sendable {
    public var job: String
    public var item: Int
    public var itemCount: Int
    public var parameter: String
    /// The fire time this run is for (a manual trigger's time for a triggered run).
    public var fireTime: Date
    public var trigger: JobRunRecord.Trigger
    /// The node running it.
    public var node: String
}

/// One run in a job's history.
public struct JobRunRecord: Sendable, Hashable, Codable {
    public enum Trigger: String, Sendable, Hashable, Codable {
        case schedule, manual
        /// A run for fire times missed while no node ran the job (``Job/MisfirePolicy/runOnce``).
        case misfire
    }

    public enum Outcome: String, Sendable, Hashable, Codable {
        case succeeded, failed
        case timedOut = "timed-out"
        /// Missed fire times passed over (``Job/MisfirePolicy/skip``).
        case skipped
        /// The node running it died (its run passed its timeout without an end).
        case abandoned
    }

    public var job: String
    public var item: Int
    public var fireTime: Date
    public var trigger: Trigger
    public var node: String
    public var startedAt: Date
    public var endedAt: Date
    public var outcome: Outcome
    public var error: String?
}
