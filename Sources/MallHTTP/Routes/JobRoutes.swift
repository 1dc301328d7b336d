import Foundation
import Hummingbird
import MallApplication
import MallKernel
import Scheduling

/// The recurring jobs, for the admin: their schedules, items and owners, history; pause,
/// resume and trigger (every node applies them within a second).
struct JobRoutes {
    let jobs: JobScheduler

    func admin() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.get("/jobs") { _, _ in
            try JSON.response(try await jobs.status().map(JobStatusBody.init))
        }
        routes.get("/jobs/{name}/history") { request, context in
            let name = try context.parameter("name")
            let limit = try request.limit()
            return try JSON.response(try await Self.known { try await jobs.history(name, limit: limit) }.map(JobRunBody.init))
        }
        for action in ["trigger", "pause", "resume"] {
            routes.post("/jobs/{name}/\(action)") { request, context in
                let name = try context.parameter("name")
                let by = try await context.decode(JobActionRequest.self, from: request).by.validated(field: "by", maxLength: 100)
                try await Self.known {
                    switch action {
                    case "trigger": try await jobs.trigger(name, by: by)
                    case "pause": try await jobs.pause(name, by: by)
                    default: try await jobs.resume(name, by: by)
                    }
                }
                let status = try await jobs.status().first { $0.name == name }
                return try JSON.response(status.map(JobStatusBody.init))
            }
        }
        return routes
    }

    /// `body`, with a job name no job has answered as 404 naming it.
    static func known<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let unknown as UnknownJob {
            throw NoSuchJob(unknown: unknown)
        }
    }
}

struct NoSuchJob: MallProblem {
    let unknown: UnknownJob
    var kind: ProblemKind { .notFound }
    var field: String? { "name" }
    var description: String { unknown.description }
}

extension Request {
    /// `?limit=` as a count of rows (default 100).
    func limit() throws -> Int {
        guard let text = uri.queryParameters.get("limit") else { return 100 }
        guard let limit = Int(text), (1...1000).contains(limit) else { throw InvalidInput(field: "limit", "must be an integer within 1...1000") }
        return limit
    }
}
