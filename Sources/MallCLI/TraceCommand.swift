import ArgumentParser
import Foundation
import MallApplication
import MallComposition

/// `mall trace ORDER_ID`: the order's timeline (``OrderTimeline``), one event per line,
/// indented under its cause.
struct Trace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print what happened to one order, across contexts, in causation order.",
        discussion: """
            Each event of the order, its reservation and payments, and every event they caused, directly or not, \
            indented under its cause: when it was recorded, by which subscription's handler (and on which attempt, \
            failing since when), which subscriptions handled it in turn, and any delivery of it now retrying or dead. \
            Exits 1 when the log holds no event of the order.
            """)

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The order's id (o-…).") var orderID: String

    func run() async throws {
        let id = orderID
        let timeline = try await Mall.withMall(try database.configuration(), logger: quietLogger) { try await $0.timeline(orderID: id) }
        guard let timeline else {
            say("the log holds no event of order \(id) (no such order, or its events were pruned)")
            throw ExitCode(1)
        }
        for line in Self.lines(timeline) { say(line) }
    }

    static func lines(_ timeline: OrderTimeline) -> [String] {
        var lines = ["order \(timeline.orderID): \(timeline.entries.count) events (\(timeline.scanned) read from the log\(timeline.truncated ? ", stopped before the head" : ""))"]
        for entry in timeline.entries {
            let event = entry.event, indent = String(repeating: "  ", count: entry.depth + 1)
            var line = "\(indent)#\(event.position) \(event.recordedAt.formatted(.iso8601)) \(event.eventType) \(event.stream)"
            if let by = entry.recordedBy { line += " ← \(describe(by))" }
            if let trace = event.traceparent.flatMap(TraceContext.init(traceparent:)) { line += " trace \(trace.traceID)" }
            lines.append(line)
            if !entry.handledBy.isEmpty {
                lines.append("\(indent)  handled by " + entry.handledBy.map { "\($0.subscription) (attempt \($0.attempt))" }.joined(separator: ", "))
            }
            for problem in entry.problems {
                var text = "\(indent)  ! \(problem.subscription): \(problem.status) after \(problem.attempts) attempt(s)"
                if let next = problem.nextAttemptAt { text += ", next at \(next.formatted(.iso8601))" }
                if let error = problem.lastError { text += ": \(error)" }
                lines.append(text)
            }
        }
        return lines
    }

    private static func describe(_ handling: OrderTimeline.Handling) -> String {
        var text = "\(handling.subscription), attempt \(handling.attempt)"
        if let since = handling.failingSince { text += ", failing since \(since.formatted(.iso8601))" }
        return text
    }
}
