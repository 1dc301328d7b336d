@_spi(Operations) import MallApplication
import Foundation
import MallKernel
import Scheduling
import ServiceLifecycle

/// The node's recurring jobs as an operator sees and steers them: their state and history
/// in the API's shapes, and pause, resume and trigger. Every node applies a change within a
/// second (the scheduler reads the stored controls).
public struct JobsControl: Sendable {
    let scheduler: JobScheduler

    /// What runs the jobs: one per node, beside the server.
    public var service: any Service { scheduler }

    /// Every job: schedule, items and owners, the last run.
    public func status() async throws -> [JobStatusBody] { try await scheduler.status().map(JobStatusBody.init) }

    /// A job's latest runs, newest first.
    ///
    /// - Throws: ``NoSuchJob`` naming a job that does not exist.
    public func history(_ name: String, limit: Int) async throws -> [JobRunBody] {
        try await Self.known { try await scheduler.history(name, limit: limit) }.map(JobRunBody.init)
    }

    /// Fires the job now, once, on every item (`by`: who asked, for the audit trail).
    public func trigger(_ name: String, by: String) async throws { try await Self.known { try await scheduler.trigger(name, by: by) } }

    /// Stops the job firing until resumed.
    public func pause(_ name: String, by: String) async throws { try await Self.known { try await scheduler.pause(name, by: by) } }

    /// Lets a paused job fire again.
    public func resume(_ name: String, by: String) async throws { try await Self.known { try await scheduler.resume(name, by: by) } }

    /// `body`, with a job name no job answers to turned into ``NoSuchJob``.
    private static func known<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let unknown as UnknownJob {
            throw NoSuchJob(detail: unknown.description)
        }
    }
}

/// A job name no job answers to (404, naming the field).
public struct NoSuchJob: MallProblem, Hashable, Sendable {
    public var detail: String
    public var kind: ProblemKind { .notFound }
    public var field: String? { "name" }
    public var description: String { detail }
}

extension Mall {
    /// This node's jobs (``jobScheduler()``), as an operator steers them.
    public func jobsControl() throws -> JobsControl { JobsControl(scheduler: try jobScheduler()) }
}
