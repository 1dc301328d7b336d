import Foundation
import Hummingbird
import MallApplication
import MallKernel
import MallOperations

/// The recurring jobs, for the admin: their schedules, items and owners, history; pause,
/// resume and trigger (every node applies them within a second).
struct JobRoutes {
    let jobs: JobsControl

    func admin() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.get("/jobs") { _, _ in
            try JSON.response(try await jobs.status())
        }
        routes.get("/jobs/{name}/history") { request, context in
            let name = try context.parameter("name")
            let limit = try request.limit()
            return try JSON.response(try await jobs.history(name, limit: limit))
        }
        for action in ["trigger", "pause", "resume"] {
            routes.post("/jobs/{name}/\(action)") { request, context in
                let name = try context.parameter("name")
                let by = try await context.decode(JobActionRequest.self, from: request).by.validated(field: "by", maxLength: 100)
                switch action {
                case "trigger": try await jobs.trigger(name, by: by)
                case "pause": try await jobs.pause(name, by: by)
                default: try await jobs.resume(name, by: by)
                }
                return try JSON.response(try await jobs.status().first { $0.name == name })
            }
        }
        return routes
    }
}

extension Request {
    /// `?limit=` as a count of rows (default 100).
    func limit() throws -> Int {
        guard let text = uri.queryParameters.get("limit") else { return 100 }
        guard let limit = Int(text), (1...1000).contains(limit) else { throw InvalidInput(field: "limit", "must be an integer within 1...1000") }
        return limit
    }
}
