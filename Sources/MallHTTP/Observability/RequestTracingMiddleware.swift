import Foundation
import HTTPTypes
import Hummingbird
import MallApplication
import Tracing

/// Where every request's causation chain starts: a request id (a UUID, sent back as
/// `Request-Id` and on the request's log lines) that becomes the correlation id of every
/// event the request records, and of every event those cause in turn (Herald carries it
/// through the subscriptions); and, with a tracer, a server span named after the route
/// that continues the caller's trace (an incoming W3C `traceparent`), so that the spans of
/// the commits and of every handler the request sets off, in every context, are its
/// descendants.
///
/// Without a tracer an incoming `traceparent` is still passed on: the events the request
/// records carry it.
struct RequestTracingMiddleware: RouterMiddleware {
    typealias Context = MallRequestContext
    let tracer: W3CTracer?

    /// The id of the request the task is handling, for log lines (``Logger/MetadataProvider/correlation``).
    @TaskLocal static var requestID: UUID?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let requestID = UUID()
        return try await Self.$requestID.withValue(requestID) { try await handle(request, context: context, id: requestID, next: next) }
    }

    private func handle(_ request: Request, context: Context, id requestID: UUID, next: (Request, Context) async throws -> Response) async throws -> Response {
        let incoming = request.headers[.traceparent].flatMap(TraceContext.init(traceparent:))
        guard let tracer else {
            return try await WorkCause.withRequest(correlationID: requestID, traceparent: incoming?.traceparent) {
                try await Self.tagged(next(request, context), requestID)
            }
        }
        var parent = ServiceContext.topLevel
        parent.traceContext = incoming
        let method = request.method.rawValue
        let span = tracer.startSpan("\(method) \(request.uri.path)", context: parent, ofKind: .server)
        defer { span.end() }
        span.attributes["http.request.method"] = method
        span.attributes["mall.request_id"] = requestID.uuidString
        do {
            let response = try await ServiceContext.withValue(span.context) {
                try await WorkCause.withRequest(correlationID: requestID) { try await next(request, context) }
            }
            finish(span, route: context.endpointPath, method: method, status: response.status.code)
            return Self.tagged(response, requestID)
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            finish(span, route: context.endpointPath, method: method, status: status)
            if status >= 500 { span.recordError(error) }
            throw error
        }
    }

    /// Names the span after the route's pattern (`POST /orders/{id}/payments`), not the
    /// path, so that one route's spans group, and records the status.
    private func finish(_ span: W3CSpan, route: String?, method: String, status: Int) {
        if let route { span.operationName = "\(method) \(route)" }
        span.attributes["http.route"] = route ?? "NotFound"
        span.attributes["http.response.status_code"] = status
        if status >= 500 { span.setStatus(SpanStatus(code: .error)) }
    }

    private static func tagged(_ response: Response, _ requestID: UUID) -> Response {
        var response = response
        response.headers[.requestID] = requestID.uuidString
        return response
    }
}

extension HTTPField.Name {
    static let traceparent = Self("traceparent")!
    static let requestID = Self("Request-Id")!
}
