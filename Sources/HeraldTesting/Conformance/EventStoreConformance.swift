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
/// of Herald (DESIGN §4). Run it from your test target:
///
/// ```swift
/// @Test(arguments: EventStoreConformance.tests)
/// func conformance(_ test: ConformanceTest) async throws {
///     try await test.run { try MyStore(path: temporaryPath()) }
/// }
/// ```
public enum EventStoreConformance {
    public static let tests: [ConformanceTest] =
        atomicity + concurrency + delivery + retries + deadLetters + scheduling + decoding + leases
}
