import Foundation
import Herald
import HeraldTesting
import InMemoryTracing
import Logging
import Testing
import Tracing

/// Herald traces with whatever tracer it is given, here swift-distributed-tracing's
/// in-memory one (which propagates with keys of its own, not W3C's): a commit is a child
/// of the span it runs in, and a handler's span a child of the span its event was recorded
/// in, however much later and in whichever worker it runs.
@Suite struct HeraldTracingTests {
    @Test func aHandlersSpanIsAChildOfTheSpanItsEventWasRecordedIn() async throws {
        let tracer = InMemoryTracer()
        var registry = EventRegistry()
        registry.register(TestIncremented.self)
        registry.register(TestReminder.self)
        let engine = HeraldEngine(
            store: InMemoryEventStore(), registry: registry, clock: ManualClock(),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), tracer: HeraldTracing(tracer))
        let echo = Subscription(name: "echo", eventTypes: [TestIncremented.eventType], handler: .transactional { delivery, work in
            try work.append(TestReminder(note: "seen \(delivery.envelope.position)"), to: StreamID(type: "Echo", id: "e"))
        })

        let request = try await tracer.withSpan("request") { span in
            let work = engine.unitOfWork()
            var counter = TestCounter(id: "c1")
            counter.increment()
            try work.save(&counter)
            try await work.commit()
            return try #require(span.context.inMemorySpanContext)
        }
        try await engine.worker(for: echo).drain()

        let spans = tracer.finishedSpans
        let commits = spans.filter { $0.operationName == "herald.commit" }
        let handle = try #require(spans.first { $0.operationName == "herald.handle" })
        #expect(commits.count == 1, "the request's (a subscription's batch commits events of many traces: no span)")
        #expect(commits.first?.parentSpanID == request.spanID, "the request's commit is its child")
        #expect(handle.traceID == request.traceID)
        #expect(handle.parentSpanID == request.spanID, "the event was recorded in the request's span")
        #expect(handle.kind == .consumer)
        #expect(handle.attributes["herald.subscription"]?.toSpanAttribute() == .string("echo"))
        #expect(handle.attributes["herald.event_type"]?.toSpanAttribute() == .string(TestIncremented.eventType))

        var events: [EventEnvelope] = []
        try await engine.store.scanLog { events += $0 }
        let (incremented, reminder) = (try #require(events.first), try #require(events.last))
        #expect(incremented.traceparent == nil, "this tracer propagates no W3C header")
        #expect(incremented.metadata["trace.in-memory-trace-id"] == request.traceID)
        #expect(incremented.metadata["trace.in-memory-span-id"] == request.spanID)
        #expect(reminder.metadata["trace.in-memory-span-id"] == handle.spanID, "recorded in the handler's span")
        #expect(reminder.causationID == incremented.eventID)
        #expect(reminder.correlationID == incremented.eventID, "the first event of a chain is its correlation")
    }

    @Test func withoutATracerACausesTraceparentPassesOnUnchanged() async throws {
        let engine = quietEngine(store: InMemoryEventStore(), clock: ManualClock())
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let correlation = UUID()
        try await UnitOfWork.Cause.$current.withValue(UnitOfWork.Cause(correlationID: correlation, traceparent: traceparent)) {
            try await engine.perform { work in try work.append(TestReminder(note: "x"), to: StreamID(type: "Echo", id: "e")) }
        }
        var events: [EventEnvelope] = []
        try await engine.store.scanLog { events += $0 }
        #expect(events.map(\.traceparent) == [traceparent])
        #expect(events.map(\.correlationID) == [correlation], "the task's cause is the default of every unit of work")
    }
}
