import Foundation
import Synchronization
import Tracing

/// Mall's tracer: W3C trace context (`traceparent`) in and out, spans kept in a bounded
/// ring in memory (``SpanRing``) for the console and tests. No exporter: an OTLP exporter
/// (swift-otel) would bring gRPC and protobuf into every build, several minutes on these
/// machines, for a collector most installs of the reference shop do not run. What a span
/// records is the `Tracing` API's, so an exporting tracer can take this one's place.
///
/// Propagation follows the W3C Trace Context recommendation: a `traceparent` of version
/// `00`, a 16-byte trace id and an 8-byte parent id in lower-case hex, and flags (`01`:
/// sampled). An incoming `traceparent` that does not parse starts a new trace, as the
/// recommendation asks; one that does makes the new span its child.
public final class W3CTracer: Tracer, Sendable {
    public typealias Span = W3CSpan

    /// Where finished spans go.
    public let ring: SpanRing

    public init(ring: SpanRing = SpanRing()) {
        self.ring = ring
    }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> W3CSpan {
        var context = context()
        let parent = context.traceContext
        let own = TraceContext(traceID: parent?.traceID ?? TraceContext.randomID(bytes: 16), spanID: TraceContext.randomID(bytes: 8), flags: parent?.flags ?? "01")
        context.traceContext = own
        return W3CSpan(
            name: operationName, kind: kind, context: context, parentSpanID: parent?.spanID, start: instant().nanosecondsSinceEpoch, ring: ring)
    }

    public func forceFlush() {}

    public func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        guard let trace = context.traceContext else { return }
        injector.inject(trace.traceparent, forKey: "traceparent", into: &carrier)
    }

    public func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let header = extractor.extract(key: "traceparent", from: carrier), let trace = TraceContext(traceparent: header) else { return }
        context.traceContext = trace
    }
}

/// The W3C identity of a span: its trace, its own id and the trace flags.
public struct TraceContext: Sendable, Hashable {
    /// 32 lower-case hex digits, not all zero.
    public var traceID: String
    /// 16 lower-case hex digits, not all zero.
    public var spanID: String
    /// 2 hex digits; `01` is sampled.
    public var flags: String

    /// `00-TRACEID-SPANID-FLAGS`.
    public var traceparent: String { "00-\(traceID)-\(spanID)-\(flags)" }

    init(traceID: String, spanID: String, flags: String) {
        self.traceID = traceID
        self.spanID = spanID
        self.flags = flags
    }

    /// Parses a `traceparent` header; `nil` unless it is a version-00 header with ids that
    /// are lower-case hex of the right length and not all zero (a later version is read by
    /// its first four fields, as the recommendation asks). Read byte by byte: it runs for
    /// every request that carries one.
    public init?(traceparent: String) {
        let bytes = Array(traceparent.utf8), dash = UInt8(ascii: "-")
        guard bytes.count >= 55, bytes[2] == dash, bytes[35] == dash, bytes[52] == dash,
              Self.isHex(bytes[0..<2]), !(bytes[0] == UInt8(ascii: "f") && bytes[1] == UInt8(ascii: "f")),
              Self.isHex(bytes[3..<35]), Self.isHex(bytes[36..<52]), Self.isHex(bytes[53..<55]),
              bytes[3..<35].contains(where: { $0 != UInt8(ascii: "0") }), bytes[36..<52].contains(where: { $0 != UInt8(ascii: "0") })
        else { return nil }
        let versionZero = bytes[0] == UInt8(ascii: "0") && bytes[1] == UInt8(ascii: "0")
        guard bytes.count == 55 || (!versionZero && bytes[55] == dash) else { return nil }
        self.init(
            traceID: String(decoding: bytes[3..<35], as: UTF8.self), spanID: String(decoding: bytes[36..<52], as: UTF8.self),
            flags: String(decoding: bytes[53..<55], as: UTF8.self))
    }

    private static func isHex(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// `bytes` random bytes in lower-case hex, not all zero: a new trace or span id. Eight
    /// bytes per draw from the system's generator (a draw is a system call).
    public static func randomID(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        while true {
            var text = [UInt8](), nonZero = false
            text.reserveCapacity(bytes * 2)
            var word: UInt64 = 0
            for index in 0..<bytes {
                if index % 8 == 0 { word = generator.next() }
                let byte = UInt8(truncatingIfNeeded: word >> (UInt64(index % 8) * 8))
                nonZero = nonZero || byte != 0
                text.append(digits[Int(byte >> 4)])
                text.append(digits[Int(byte & 0x0f)])
            }
            if nonZero { return String(decoding: text, as: UTF8.self) }
        }
    }
}

extension ServiceContext {
    /// The W3C trace context of the current span (``W3CTracer``'s).
    public var traceContext: TraceContext? {
        get { self[TraceContextKey.self] }
        set { self[TraceContextKey.self] = newValue }
    }
}

private enum TraceContextKey: ServiceContextKey {
    typealias Value = TraceContext
}

/// A span of ``W3CTracer``: changed while it runs, handed to the tracer's ring when it ends.
public final class W3CSpan: Tracing.Span, Sendable {
    public let context: ServiceContext
    private let state: Mutex<State>
    private let ring: SpanRing

    private struct State {
        var span: FinishedSpan
        var ended = false
    }

    init(name: String, kind: SpanKind, context: ServiceContext, parentSpanID: String?, start: UInt64, ring: SpanRing) {
        self.context = context
        self.ring = ring
        let trace = context.traceContext!
        state = Mutex(State(span: FinishedSpan(
            traceID: trace.traceID, spanID: trace.spanID, parentSpanID: parentSpanID, name: name, kind: "\(kind)",
            startNanoseconds: start, endNanoseconds: start)))
    }

    public var operationName: String {
        get { state.withLock { $0.span.name } }
        set { state.withLock { $0.span.name = newValue } }
    }

    public var attributes: SpanAttributes {
        get {
            var attributes = SpanAttributes()
            for (key, value) in state.withLock({ $0.span.attributes }) { attributes[key] = value }
            return attributes
        }
        set {
            var flat: [String: String] = [:]
            newValue.forEach { key, value in flat[key] = FinishedSpan.text(value) }
            state.withLock { $0.span.attributes = flat }
        }
    }

    public var isRecording: Bool { state.withLock { !$0.ended } }

    public func setStatus(_ status: SpanStatus) {
        state.withLock { $0.span.error = status.code == .error ? (status.message ?? $0.span.error ?? "error") : nil }
    }

    public func addEvent(_ event: SpanEvent) {
        state.withLock { $0.span.events.append(event.name) }
    }

    public func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        state.withLock { $0.span.error = "\(error)" }
    }

    public func addLink(_ link: SpanLink) {
        guard let linked = link.context.traceContext else { return }
        state.withLock { $0.span.links.append(linked.traceparent) }
    }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let finished: FinishedSpan? = state.withLock { state in
            guard !state.ended else { return nil }
            state.ended = true
            state.span.endNanoseconds = instant().nanosecondsSinceEpoch
            return state.span
        }
        if let finished { ring.record(finished) }
    }
}

/// A span that has ended, as ``SpanRing`` keeps it.
public struct FinishedSpan: Sendable, Hashable {
    public var traceID: String
    public var spanID: String
    public var parentSpanID: String?
    public var name: String
    /// `server`, `client`, `producer`, `consumer` or `internal`.
    public var kind: String
    public var startNanoseconds: UInt64
    public var endNanoseconds: UInt64
    public var attributes: [String: String] = [:]
    /// The error recorded on it, if any.
    public var error: String?
    public var events: [String] = []
    /// The `traceparent` of each span linked to it.
    public var links: [String] = []

    static func text(_ value: SpanAttribute) -> String {
        switch value {
        case .string(let text): text
        case .int64(let number): String(number)
        case .int32(let number): String(number)
        case .double(let number): String(number)
        case .bool(let flag): String(flag)
        default: "\(value)"
        }
    }
}

/// The latest finished spans, at most ``capacity`` (the oldest go first): what a process
/// remembers of its traces, bounded however long it runs.
public final class SpanRing: Sendable {
    public let capacity: Int
    private let spans: Mutex<(items: [FinishedSpan], next: Int)>

    public init(capacity: Int = 10_000) {
        precondition(capacity > 0, "a span ring holds at least one span")
        self.capacity = capacity
        spans = Mutex(([], 0))
    }

    func record(_ span: FinishedSpan) {
        spans.withLock { ring in
            if ring.items.count < capacity {
                ring.items.append(span)
            } else {
                ring.items[ring.next] = span
                ring.next = (ring.next + 1) % capacity
            }
        }
    }

    /// Every span kept, oldest first.
    public var all: [FinishedSpan] {
        spans.withLock { ring in Array(ring.items[ring.next...] + ring.items[..<ring.next]) }
    }

    /// The spans kept of one trace, by start time.
    public func trace(_ traceID: String) -> [FinishedSpan] {
        all.filter { $0.traceID == traceID }.sorted { ($0.startNanoseconds, $0.spanID) < ($1.startNanoseconds, $1.spanID) }
    }
}
