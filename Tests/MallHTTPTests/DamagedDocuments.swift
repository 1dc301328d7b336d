import Foundation
import Herald
import Testing

extension EventStore {
    /// Overwrites an aggregate's stored document with `state` (by default JSON cut short),
    /// as a bad disk or a mistaken hand would; returns how to put the document back (as
    /// its next version).
    func damage(_ stream: StreamID, with state: String = "{") async throws -> @Sendable () async throws -> Void {
        let intact = try #require(try await aggregate(stream), "\(stream) is stored")
        var damage = Changeset(recordedAt: Date())
        damage.aggregates = [AggregateWrite(stream: stream, expectedVersion: intact.version, state: Data(state.utf8))]
        _ = try await commit(damage)
        return {
            var mend = Changeset(recordedAt: Date())
            mend.aggregates = [AggregateWrite(stream: stream, expectedVersion: intact.version + 1, state: intact.state)]
            _ = try await self.commit(mend)
        }
    }
}
