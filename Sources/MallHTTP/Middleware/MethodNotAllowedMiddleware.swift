import Hummingbird
import Synchronization

/// Answers a request whose path is a route but whose method is not with 405 and `Allow`
/// (RFC 9110 §15.5.6), instead of the router's 404.
///
/// Sits right after ``ProblemMiddleware``, so it also wraps the router's not-found
/// responder; it learns the routes once they are all added (``RouteMethods/load(_:)``).
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = MallRequestContext
    let routes: RouteMethods

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            // The router's not-found: a path that is a route, asked with another method.
            guard let allowed = routes.methods(for: request.uri.path), !allowed.contains(request.method) else { throw error }
            let allow = allowed.map(\.rawValue).sorted().joined(separator: ", ")
            return Problem(.methodNotAllowed, slug: "method-not-allowed", detail: "\(request.method) is not allowed here; allowed: \(allow)")
                .response(headers: [.allow: allow])
        }
    }
}

/// The router's paths and the methods each takes.
final class RouteMethods: Sendable {
    private let table = Mutex<[(segments: [Substring], methods: Set<HTTPRequest.Method>)]>([])

    func load(_ routes: [Router<MallRequestContext>.RouteDescription]) {
        var byPath: [String: Set<HTTPRequest.Method>] = [:]
        for route in routes { byPath[route.path.description, default: []].insert(route.method) }
        table.withLock { $0 = byPath.map { (Self.segments($0.key), $0.value) } }
    }

    /// The methods of the route whose pattern `path` matches (`{name}` matches any one
    /// segment), or `nil` when no route does.
    func methods(for path: String) -> Set<HTTPRequest.Method>? {
        let parts = Self.segments(path)
        return table.withLock { table in
            table.first { route in
                route.segments.count == parts.count
                    && zip(route.segments, parts).allSatisfy { pattern, part in pattern.hasPrefix("{") || pattern == part }
            }?.methods
        }
    }

    private static func segments(_ path: String) -> [Substring] { path.split(separator: "/") }
}
