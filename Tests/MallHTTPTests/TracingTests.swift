import Foundation
import Herald
@_spi(Operations) import MallApplication
import MallOperations
import Testing

/// One trace follows an order: the caller's W3C trace context on `POST /orders` continues
/// through the request's commit, into every event it records, and into the span of every
/// handler those events set off, in every context; the events carry the request's id as
/// their correlation and the event handled as their causation. The tracer is Mall's own
/// (``W3CTracer``), its spans read from its in-memory ring.
@Suite struct TracingTests {
    /// A caller's trace context: a fresh trace and a parent span of the caller's.
    struct Caller {
        let traceID = TraceContext.randomID(bytes: 16)
        let spanID = TraceContext.randomID(bytes: 8)
        var header: String { "00-\(traceID)-\(spanID)-01" }
    }

    /// The spans of `caller`'s trace, checked to form one tree under the request's server
    /// span `name` (itself a child of the caller's span); "subscription EventType" of each
    /// handler call in it.
    static func handlerCalls(in tracer: W3CTracer, of caller: Caller, root name: String) throws -> Set<String> {
        let spans = tracer.ring.trace(caller.traceID)
        let root = try #require(spans.first { $0.kind == "server" }, "the request's span")
        #expect(root.name == name)
        #expect(root.parentSpanID == caller.spanID, "a child of the caller's span")
        let ids = Set(spans.map(\.spanID))
        for span in spans where span.spanID != root.spanID {
            #expect(span.parentSpanID.map(ids.contains) == true, "\(span.name) \(span.attributes) hangs in the tree")
        }
        #expect(spans.contains { $0.name == "herald.commit" && $0.parentSpanID == root.spanID }, "the request's commit")
        return Set(spans.filter { $0.name == "herald.handle" }.map { "\($0.attributes["herald.subscription"] ?? "?") \($0.attributes["herald.event_type"] ?? "?")" })
    }

    /// The events correlated with a request: they carry its trace, and each but the first
    /// was caused by another of them.
    static func correlatedEvents(_ mall: Mall, requestID: String, caller: Caller) async throws -> [String] {
        var events: [EventEnvelope] = []
        try await mall.engine.store.scanLog { events += $0 }
        let correlated = events.filter { $0.correlationID?.uuidString.lowercased() == requestID.lowercased() }
        let ids = Set(correlated.map(\.eventID))
        for event in correlated {
            #expect(event.traceparent.flatMap(TraceContext.init(traceparent:))?.traceID == caller.traceID, "\(event.eventType) carries the trace")
            if event.causationID != nil {
                #expect(event.causationID.map(ids.contains) == true, "\(event.eventType) was caused by an event of the request")
            }
        }
        return correlated.map(\.eventType)
    }

    /// A member's order of a teapot with a welcome coupon, placed in `caller`'s trace:
    /// the member's token, the order's id and the request's id.
    static func orderWithCoupon(_ client: MallClient, _ caller: Caller) async throws -> (token: String, id: String, requestID: String) {
        let member = try await client.member("ada")
        let code = try #require(try await client.send("POST", "/coupons", json: ["campaignId": "welcome"], token: member.token).string("code"))
        let placed = try await client.placeOrder(member.token, [("teapot", 1)], coupon: code, headers: ["traceparent": caller.header])
        #expect(placed.status == 201)
        return (member.token, try #require(placed.string("id")), try #require(placed.headers["request-id"]))
    }

    @Test func oneTraceFollowsAPaidOrderThroughEveryContext() async throws {
        try await InProcessMall.run { client, mall in
            let tracer = try #require(mall.tracer)
            let ordering = Caller()
            let (token, id, requestID) = try await Self.orderWithCoupon(client, ordering)
            try await client.waitForOrder(id, token: token, status: "awaitingPayment")
            let paying = Caller(), settling = Caller()
            let started = try await client.send("POST", "/orders/\(id)/payments", token: token, headers: ["traceparent": paying.header])
            #expect(started.status == 201)
            #expect(try await client.gatewayCallback(for: started, headers: ["traceparent": settling.header]).status == 200)
            try await client.waitForOrder(id, token: token, status: "paid")
            try await client.waitUntilCaughtUp()

            let ordered = try Self.handlerCalls(in: tracer, of: ordering, root: "POST /orders")
            #expect(ordered.isSuperset(of: [
                "inventory.reservations OrderSubmitted", "pricing.coupons OrderSubmitted", "cart.checkout OrderSubmitted",
                "ordering.process StockReserved", "ordering.process CouponRedeemed",
            ]), "\(ordered.sorted())")
            let events = try await Self.correlatedEvents(mall, requestID: requestID, caller: ordering)
            #expect(Set(events).isSuperset(of: ["OrderSubmitted", "StockReserved", "CouponRedeemed", "OrderAwaitingPayment"]), "\(events)")

            let settled = try Self.handlerCalls(in: tracer, of: settling, root: "POST /payment-gateway/callbacks")
            #expect(settled.contains("ordering.process PaymentSucceeded"), "\(settled.sorted())")
            _ = try Self.handlerCalls(in: tracer, of: paying, root: "POST /orders/{id}/payments")  // one tree, with its commit
        }
    }

    @Test func theOrdersTraceGoesOnThroughItsPaymentDeadlineAndCancellation() async throws {
        try await InProcessMall.run(configure: { $0.paymentWindow = .milliseconds(500) }) { client, mall in
            let tracer = try #require(mall.tracer)
            let ordering = Caller()
            let (token, id, requestID) = try await Self.orderWithCoupon(client, ordering)
            try await client.waitForOrder(id, token: token, status: "cancelled")
            try await client.waitUntilCaughtUp()

            // The deadline was scheduled in the order's trace; its delivery and everything the
            // cancellation sets off (stock released, coupon returned) continue it.
            let calls = try Self.handlerCalls(in: tracer, of: ordering, root: "POST /orders")
            #expect(calls.isSuperset(of: [
                "ordering.process PaymentDeadlineReached", "inventory.reservations OrderCancelled", "pricing.coupons OrderCancelled",
            ]), "\(calls.sorted())")
            let events = try await Self.correlatedEvents(mall, requestID: requestID, caller: ordering)
            #expect(Set(events).isSuperset(of: ["PaymentDeadlineReached", "OrderCancelled", "StockReleased", "CouponReturned"]), "\(events)")
        }
    }

    @Test func withTracingOffTheCallersTraceAndTheRequestsCorrelationStillReachTheEvents() async throws {
        try await InProcessMall.run(configure: { $0.tracing = false }) { client, mall in
            #expect(mall.tracer == nil)
            let member = try await client.member("ada")
            let caller = Caller()
            let placed = try await client.placeOrder(member.token, [("teapot", 1)], headers: ["traceparent": caller.header])
            #expect(placed.status == 201)
            let requestID = try #require(placed.headers["request-id"])
            try await client.waitUntilCaughtUp()
            let events = try await Self.correlatedEvents(mall, requestID: requestID, caller: caller)
            #expect(Set(events).isSuperset(of: ["OrderSubmitted", "StockReserved", "OrderAwaitingPayment"]), "\(events)")
        }
    }

    @Test func aMalformedTraceparentStartsANewTrace() async throws {
        for header in ["00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                       "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                       "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "garbage", ""] {
            #expect(TraceContext(traceparent: header) == nil, "\(header)")
        }
        let valid = try #require(TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        #expect(valid.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(valid.spanID == "00f067aa0ba902b7")
        #expect(TraceContext(traceparent: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later")?.traceID == valid.traceID,
                "a later version is read by its first four fields")
    }
}
