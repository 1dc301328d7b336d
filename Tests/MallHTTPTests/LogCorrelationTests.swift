import Foundation
import Herald
import HeraldSQLite
@_spi(Operations) import MallApplication
import MallOperations
import Testing
import TestSupport

/// Every line `mall serve` writes while handling a request or an event says which: the
/// request's id, the chain's correlation id, the event handled (causation) and the trace.
@Suite struct LogCorrelationTests {
    @Test func linesWrittenForARequestAndForTheEventsItCausedCarryItsIdsAndTrace() async throws {
        let server = MallServerProcess()
        try await server.start()
        defer { server.terminate() }
        let client = MallClient(baseURL: server.baseURL)
        let ada = try await client.member("ada")

        // A damaged stock document: the request reading it fails, and so does the
        // reservation handler meeting it; both write a line.
        _ = try await SQLiteEventStore(path: server.database).damage(StreamID(type: "Stock", id: "mug-stone"))

        let reading = (trace: TraceContext.randomID(bytes: 16), span: TraceContext.randomID(bytes: 8))
        let failed = try await client.send("GET", "/products/mug-stone", headers: ["traceparent": "00-\(reading.trace)-\(reading.span)-01"])
        #expect(failed.status == 500)
        let readID = try #require(failed.headers["request-id"])
        var line = try #require(server.log.split(separator: "\n").first { $0.contains("damaged record") }, "\(server.logTail())")
        #expect(line.contains("request_id=\(readID)"), "\(line)")
        #expect(line.contains("correlation_id=\(readID)"), "\(line)")
        #expect(line.contains("trace_id=\(reading.trace)"), "\(line)")

        let ordering = (trace: TraceContext.randomID(bytes: 16), span: TraceContext.randomID(bytes: 8))
        let placed = try await client.placeOrder(ada.token, [("mug-stone", 1)], headers: ["traceparent": "00-\(ordering.trace)-\(ordering.span)-01"])
        #expect(placed.status == 201)
        let orderRequest = try #require(placed.headers["request-id"])
        try await eventually("the reservation handler's failure is logged") { () async throws -> Bool in
            server.log.split(separator: "\n").contains { $0.contains("handler failed") && $0.contains("eventType=OrderSubmitted") }
        }
        line = try #require(server.log.split(separator: "\n").first { $0.contains("handler failed") && $0.contains("eventType=OrderSubmitted") })
        #expect(line.contains("correlation_id=\(orderRequest)"), "the request that started the chain: \(line)")
        #expect(line.contains("trace_id=\(ordering.trace)"), "\(line)")
        #expect(line.contains("causation_id="), "the event being handled: \(line)")
        #expect(!line.contains("request_id="), "no request is being handled: \(line)")
    }
}
