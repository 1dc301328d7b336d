import Foundation
import MallApplication
import MallKernel

/// `GET /admin/orders/{id}/timeline`: ``OrderTimeline``, entries in causation order.
struct OrderTimelineBody: Encodable {
    var orderId: String
    var scanned: Int
    var truncated: Bool
    var entries: [Entry]

    struct Handling: Encodable {
        var subscription: String
        var attempt: Int
        var at: Date
        var failingSince: Date?

        init(_ handling: OrderTimeline.Handling) {
            subscription = handling.subscription
            attempt = handling.attempt
            at = handling.at
            failingSince = handling.failingSince
        }
    }

    struct Problem: Encodable {
        var subscription: String
        var status: String
        var attempts: Int
        var lastError: String?
        var nextAttemptAt: Date?

        init(_ problem: OrderTimeline.Problem) {
            subscription = problem.subscription
            status = problem.status
            attempts = problem.attempts
            lastError = problem.lastError
            nextAttemptAt = problem.nextAttemptAt
        }
    }

    struct Entry: Encodable {
        var position: Int64
        var eventId: String
        var eventType: String
        var stream: String
        var recordedAt: Date
        var depth: Int
        var causationId: String?
        var correlationId: String?
        /// The W3C trace the event was recorded in, if any.
        var traceId: String?
        var recordedBy: Handling?
        var handledBy: [Handling]
        var problems: [Problem]

        init(_ entry: OrderTimeline.Entry) {
            let event = entry.event
            position = event.position
            eventId = event.eventID.uuidString
            eventType = event.eventType
            stream = event.stream.description
            recordedAt = event.recordedAt
            depth = entry.depth
            causationId = event.causationID?.uuidString
            correlationId = event.correlationID?.uuidString
            traceId = event.traceparent.flatMap(TraceContext.init(traceparent:))?.traceID
            recordedBy = entry.recordedBy.map(Handling.init)
            handledBy = entry.handledBy.map(Handling.init)
            problems = entry.problems.map(Problem.init)
        }
    }

    init(_ timeline: OrderTimeline) {
        orderId = timeline.orderID
        scanned = timeline.scanned
        truncated = timeline.truncated
        entries = timeline.entries.map(Entry.init)
    }
}

/// `GET /admin/orders/{id}/timeline` for an order the log holds no event of.
struct NoTimeline: MallProblem {
    let orderID: String
    var kind: ProblemKind { .notFound }
    var field: String? { nil }
    var description: String { "the log holds no event of order \(orderID) (no such order, or its events were pruned)" }
}
