import Foundation
import Herald

/// Makes a fresh, empty store for one conformance test.
public typealias StoreFactory = @Sendable () async throws -> any EventStore

/// One check of the conformance suite, runnable against any store.
public struct ConformanceTest: Sendable, CustomStringConvertible {
    public let name: String
    let body: @Sendable (StoreFactory) async throws -> Void

    public var description: String { name }

    /// Runs the check against fresh stores from `makeStore`.
    ///
    /// - Throws: ``ConformanceFailure`` saying what was expected and what was found.
    public func run(_ makeStore: @escaping StoreFactory) async throws {
        try await body(makeStore)
    }
}

/// The behaviour every ``EventStore`` must show, as tests that try to break each guarantee
/// of Herald (docs/ARCHITECTURE.md lists them), in one slice per capability of the store. Run it from your test
/// target:
///
/// ```swift
/// @Test(arguments: EventStoreConformance.tests)
/// func conformance(_ test: ConformanceTest) async throws {
///     try await test.run { try MyStore(path: temporaryPath()) }
/// }
/// ```
///
/// A store offering only some capabilities runs those slices.
public enum EventStoreConformance {
    /// Every slice but ``projections`` (which needs ``ProjectionStore``).
    public static let tests: [ConformanceTest] = eventLog + aggregateDocuments + subscriptionProgress + scheduledMessages + partitionLeases

    /// ``AggregateDocuments`` with ``ChangesetCommitting``: atomic, checked commits, and documents that report damage.
    public static let aggregateDocuments: [ConformanceTest] = atomicity + concurrency + decoding
    /// ``SubscriptionProgress``: delivery once and in order, retries, dead letters.
    public static let subscriptionProgress: [ConformanceTest] = delivery + retries + deadLetters
    /// ``ScheduledMessageStore``: messages fire once, never early, never after cancellation.
    public static let scheduledMessages: [ConformanceTest] = scheduling
    /// ``PartitionLeases``: one owner per partition, fenced commits, heartbeats.
    public static let partitionLeases: [ConformanceTest] = leases
}
