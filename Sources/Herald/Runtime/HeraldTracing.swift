import Foundation
import Tracing

/// Spans for Herald's work, through the tracer an application gives its engine
/// (``HeraldEngine/init(store:registry:clock:random:logger:aggregateCache:node:metrics:tracer:)``),
/// and the trace carried by every event from the span it was recorded in to the handlers
/// that handle it — so one trace follows a change through every subscription it sets off.
///
/// - `herald.commit`: each unit of work's commit, a child of the current span (the HTTP
///   request's, say). A subscription's batch commit is no span: it commits the effects of
///   events of many traces at once (its latency is in ``HeraldMetrics``).
/// - `herald.handle`: each handler call, a child of the span the event was recorded in (not
///   of the worker's loop), with the subscription, event type, position and attempt.
///
/// An event stores its trace as the tracer propagates it: the W3C `traceparent` header in
/// ``EventEnvelope/traceparent`` and any other key (`tracestate`, a test tracer's own) in
/// its metadata as `trace.KEY`. A scheduled message keeps the trace it was scheduled in:
/// the payment deadline that fires in fifteen minutes continues the order's trace.
///
/// An engine without a tracer starts no spans and passes each cause's `traceparent` on
/// unchanged (``UnitOfWork/Cause``).
public struct HeraldTracing: Sendable {
    /// The prefix of trace keys other than `traceparent` in an event's metadata.
    public static let metadataPrefix = "trace."

    private let start: @Sendable (_ name: String, _ parent: ServiceContext, _ kind: SpanKind) -> any Span
    private let inject: @Sendable (ServiceContext) -> [String: String]
    private let extract: @Sendable ([String: String]) -> ServiceContext

    public init<T: Tracer>(_ tracer: T) {
        start = { name, parent, kind in tracer.startSpan(name, context: parent, ofKind: kind) }
        inject = { context in
            var carrier: [String: String] = [:]
            tracer.inject(context, into: &carrier, using: DictionaryPropagation())
            return carrier
        }
        extract = { carrier in
            var context = ServiceContext.topLevel
            tracer.extract(carrier, into: &context, using: DictionaryPropagation())
            return context
        }
    }

    /// Runs `body` in a span named `name`, a child of `parent` (by default the current
    /// context), with `attributes`; an error thrown is recorded on the span and rethrown.
    func withSpan<T>(
        _ name: String, parent: ServiceContext? = nil, kind: SpanKind = .internal, attributes: SpanAttributes = [:],
        isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async throws -> T {
        let span = start(name, parent ?? .current ?? .topLevel, kind)
        span.attributes = attributes
        defer { span.end() }
        do {
            return try await ServiceContext.withValue(span.context) { try await body() }
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    /// The current span's trace, as an event stores it.
    func currentTrace() -> (traceparent: String?, metadata: [String: String]) {
        guard let context = ServiceContext.current else { return (nil, [:]) }
        var carrier = inject(context)
        let traceparent = carrier.removeValue(forKey: "traceparent")
        return (traceparent, Dictionary(uniqueKeysWithValues: carrier.map { (Self.metadataPrefix + $0.key, $0.value) }))
    }

    /// The context `event` was recorded in, for the span of its handling.
    func context(of event: EventEnvelope) -> ServiceContext {
        var carrier: [String: String] = [:]
        for (key, value) in event.metadata where key.hasPrefix(Self.metadataPrefix) {
            carrier[String(key.dropFirst(Self.metadataPrefix.count))] = value
        }
        if let traceparent = event.traceparent { carrier["traceparent"] = traceparent }
        return extract(carrier)
    }
}

/// Injects into and extracts from a `[String: String]`, keys as given.
struct DictionaryPropagation: Injector, Extractor {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}
