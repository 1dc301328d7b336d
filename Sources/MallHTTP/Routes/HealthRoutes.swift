import Hummingbird
import MallApp
import NIOCore

/// Liveness, readiness (the store answers) and the API's own description.
struct HealthRoutes {
    let mall: Mall

    func routes() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.get("/health/live") { _, _ in try JSON.response(["status": "live"]) }
        routes.get("/health/ready") { _, _ in
            try await mall.checkReady()  // an unreachable store becomes 503 within 2 s
            return try JSON.response(["status": "ready"])
        }
        routes.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
        return routes
    }
}
