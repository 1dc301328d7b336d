import Foundation

/// A store that can delete what no reader needs any more: old events every subscription and
/// projection has read, and inbox entries of events no longer in the log.
public protocol EventPruning: Sendable {
    /// Deletes up to `limit` events that subscriptions read before the event at `position`
    /// (in the order they read the log), recorded before `recordedBefore`, whose type is not
    /// in `keepingTypes`. The event at `position` stays; when there is none, nothing is
    /// deleted.
    ///
    /// - Returns: how many events were deleted.
    func pruneEvents(before position: Int64, recordedBefore: Date, keepingTypes: Set<String>, limit: Int) async throws -> Int

    /// Deletes up to `limit` inbox entries whose event is no longer in the log (it cannot
    /// be delivered again).
    ///
    /// - Returns: how many were deleted.
    func pruneInbox(limit: Int) async throws -> Int

    /// Looks at up to `limit` documents of the aggregate type `streamType` whose id comes
    /// after `cursor` (from the first when `nil`), in id order, and deletes those last
    /// written before `writtenBefore`. A deleted aggregate loads as one that never existed;
    /// its events, if any, stay in the log.
    ///
    /// - Returns: how many were deleted, and the id to go on after (`nil` when no document
    ///   of the type follows the ones looked at).
    func pruneDocuments(ofType streamType: String, writtenBefore: Date, after cursor: String?, limit: Int) async throws -> (deleted: Int, next: String?)
}

/// What ``HeraldEngine/pruneLog(recordedBefore:projections:batchSize:)`` deleted.
public struct PruneReport: Sendable, Hashable, Codable {
    /// Events deleted.
    public var events = 0
    /// Inbox entries deleted.
    public var inboxEntries = 0
    /// Nothing at or after this position was deleted: the earliest event a subscription or
    /// projection has yet to read past, or that waits in retries or dead letters.
    public var keptFrom: Int64 = 0
}

extension HeraldEngine {
    /// Deletes events recorded before `recordedBefore` that nothing needs any more, and the
    /// inbox entries of deleted events.
    ///
    /// An event is needed, and kept, when
    /// - a subscription or projection (any checkpoint in the store but a projection's
    ///   retired generations) has not yet read past it, or it is the event a checkpoint
    ///   stands on;
    /// - it, or an earlier event, waits in a subscription's retries or dead letters (replay
    ///   reads it from the log);
    /// - it is the newest event (positions must keep increasing);
    /// - it is of a type one of `projections` reads: a rebuild replays the log from its
    ///   start (a projection reading every type keeps every event).
    ///
    /// Deletes in batches of `batchSize`, each its own transaction, so writers are never held
    /// up for long.
    ///
    /// - Returns: what was deleted.
    public func pruneLog(recordedBefore: Date, projections: [Projection], batchSize: Int = 1000) async throws -> PruneReport {
        var keepingTypes = Set<String>()
        var retired = Set<String>()
        for projection in projections {
            guard let types = projection.eventTypes else { return PruneReport() }  // reads everything: keeps everything
            keepingTypes.formUnion(types)
            let state = try await prepare(projection)
            let live = Set([state.serving.number] + (state.building.map { [$0.number] } ?? []))
            for number in 1..<state.nextGenerationNumber where !live.contains(number) {
                retired.insert(projection.schema.checkpointName(generation: number))
            }
        }
        // The earliest of these in the order readers get events (not the smallest number:
        // on PostgreSQL the two differ).
        var needed: Set<Int64> = [try await store.headPosition()]
        for (name, checkpoint) in try await store.checkpoints() where !retired.contains(Partitioning.subscription(ofCheckpoint: name)) {
            needed.insert(checkpoint)
        }
        for parked in try await store.parkedEvents(subscription: nil) { needed.insert(parked.position) }
        let bound = try await store.earliest(of: needed) ?? 0

        var report = PruneReport(keptFrom: bound)
        guard bound > 0 else { return report }
        while true {
            let deleted = try await store.pruneEvents(before: bound, recordedBefore: recordedBefore, keepingTypes: keepingTypes, limit: batchSize)
            report.events += deleted
            if deleted < batchSize { break }
        }
        while true {
            let deleted = try await store.pruneInbox(limit: batchSize)
            report.inboxEntries += deleted
            if deleted < batchSize { break }
        }
        return report
    }

    /// Deletes the documents of the aggregate type `streamType` not written since
    /// `writtenBefore`: aggregates that expire, such as log-in sessions or idempotency
    /// records, which nothing updates once they are written.
    ///
    /// One pass over the type's documents in id order, `batchSize` at a time, each batch its
    /// own transaction; a document written again during the pass is kept (the store checks
    /// the time as it deletes).
    ///
    /// - Returns: how many were deleted.
    public func pruneDocuments(ofType streamType: String, writtenBefore: Date, batchSize: Int = 1000) async throws -> Int {
        var deleted = 0
        var cursor: String?
        repeat {
            let batch = try await store.pruneDocuments(ofType: streamType, writtenBefore: writtenBefore, after: cursor, limit: batchSize)
            deleted += batch.deleted
            cursor = batch.next
        } while cursor != nil
        return deleted
    }
}
