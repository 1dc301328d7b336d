import Foundation
import Herald

// What tests look at in a store, built on the capabilities every store has: no store
// carries a query only tests ask for. They scan, so they are for test-sized data.

extension EventLog {
    /// Every event of one stream, in stream order (a scan of the whole log).
    public func events(in stream: StreamID) async throws -> [EventEnvelope] {
        var found: [EventEnvelope] = []
        try await scanLog { batch in found += batch.filter { $0.stream == stream } }
        return found.sorted { $0.streamVersion < $1.streamVersion }
    }
}

extension ScheduledMessageStore {
    /// The scheduled message with this key, if it is still pending (a scan of every pending one).
    public func scheduledMessage(key: String) async throws -> ScheduledMessage? {
        try await dueScheduledMessages(at: .distantFuture, limit: 1_000_000).first { $0.key == key }
    }
}
