import Hummingbird
import MallApplication
import NIOCore

/// `GET /health/ready`'s body: `warnings` name what an operator must know (the fake gateway).
struct Readiness: Encodable {
    var status: String
    var warnings: [String]?
}

/// Liveness, readiness (the store answers) and the API's own description.
struct HealthRoutes {
    let mall: Mall

    func routes() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.get("/health/live") { _, _ in try JSON.response(["status": "live"]) }
        routes.get("/health/ready") { _, _ in
            try await mall.checkReady()  // an unreachable store becomes 503 within 2 s
            // Ready, but say so where an operator's probe looks: payments are not real.
            let warnings = mall.configuration.gatewayURL == nil ? [MallConfiguration.fakeGatewayWarning] : nil
            return try JSON.response(Readiness(status: "ready", warnings: warnings))
        }
        routes.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
        return routes
    }
}
