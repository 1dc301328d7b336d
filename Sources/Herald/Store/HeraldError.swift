import Foundation

/// Another unit of work changed an aggregate between this one's read and its commit.
///
/// Nothing of the failed unit of work was written; reload and try again.
public struct ConcurrencyConflict: Error, CustomStringConvertible, Sendable, Hashable {
    /// The aggregate whose version did not match.
    public var stream: StreamID
    /// The version this unit of work read (0 for a new aggregate).
    public var expectedVersion: Int64
    /// The version found in the store at commit (`nil` when the aggregate does not exist).
    public var actualVersion: Int64?

    public init(stream: StreamID, expectedVersion: Int64, actualVersion: Int64?) {
        self.stream = stream
        self.expectedVersion = expectedVersion
        self.actualVersion = actualVersion
    }

    public var description: String {
        let actual = actualVersion.map { "version \($0)" } ?? "no aggregate"
        return "concurrency conflict on aggregate \(stream): expected version \(expectedVersion), found \(actual)"
    }
}

/// A setting that cannot work. Thrown at start-up, before anything runs.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The setting, e.g. `"RetryPolicy.maxAttempts"`.
    public var setting: String
    /// The value that was given.
    public var value: String
    /// What is allowed instead.
    public var allowed: String

    public init(setting: String, value: String, allowed: String) {
        self.setting = setting
        self.value = value
        self.allowed = allowed
    }

    public var description: String { "invalid \(setting) = \(value): \(allowed)" }
}

/// Errors of the storage layer that callers can act on.
public enum StoreError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The database was created or migrated by a newer Herald than this one.
    case schemaTooNew(found: Int, supported: Int)
    /// The database cannot be written (read-only file or file system, no permission).
    case readOnly(String)
    /// The disk is full; the transaction was rolled back.
    case diskFull(String)
    /// A subscription's checkpoint moved while this process worked on it (another worker
    /// holds it). The batch was rolled back.
    case checkpointMoved(subscription: String, expected: Int64, found: Int64?)
    /// This checkpoint is gone: another node moved the subscription to another partition
    /// layout (``SubscriptionProgressStore/replaceCheckpoints(of:expecting:with:at:)``).
    /// Nothing was written; the worker stops rather than start again from the beginning.
    case checkpointRemoved(String)
    /// A parked event changed between its read and this commit (another worker retried or
    /// released it, or an operator replayed or discarded it): nothing was written. Read
    /// again and decide anew.
    case parkedEventChanged(subscription: String, position: Int64)
    /// The projection generation a commit wrote for is neither serving nor being built any
    /// more (a rebuild replaced it): nothing was written. Read the projection's state again.
    case projectionGenerationGone(projection: String, generation: Int)
    /// Another node took this partition's lease: nothing was written.
    case leaseLost(subscription: String, partition: Int)
    /// A scheduled message was already delivered or cancelled by someone else.
    case scheduledMessageGone(key: String)
    /// An event with this id is already in the log.
    case duplicateEventID(UUID)
    /// The store could not be used: the server is unreachable or did not answer in time,
    /// the connection was lost, the database is busy or locked, an I/O error, a transaction
    /// the database aborted (serialization failure, deadlock). Nothing about the data: the
    /// same work may succeed later. A commit that fails this way may or may not have been
    /// applied.
    case unavailable(String)

    public var description: String {
        switch self {
        case .schemaTooNew(let found, let supported):
            return "database schema version \(found) is newer than this build supports (\(supported)); upgrade Herald before opening it"
        case .readOnly(let detail):
            return "database is read-only, nothing was written: \(detail)"
        case .diskFull(let detail):
            return "disk is full, nothing was written: \(detail)"
        case .checkpointMoved(let subscription, let expected, let found):
            return "checkpoint of subscription \(subscription) moved: expected \(expected), found \(found.map(String.init) ?? "none")"
        case .checkpointRemoved(let checkpoint):
            return "checkpoint \(checkpoint) was removed: another node runs its subscription in another number of partitions; "
                + "nothing was written (give every node the same partition count)"
        case .parkedEventChanged(let subscription, let position):
            return "parked event at position \(position) of subscription \(subscription) changed since it was read; nothing was written"
        case .projectionGenerationGone(let projection, let generation):
            return "generation \(generation) of projection \(projection) was replaced; nothing was written"
        case .leaseLost(let subscription, let partition):
            return "the lease on partition \(partition) of subscription \(subscription) has passed to another node; nothing was written"
        case .scheduledMessageGone(let key):
            return "scheduled message \(key) was already delivered or cancelled"
        case .duplicateEventID(let id):
            return "an event with id \(id) is already in the log"
        case .unavailable(let detail):
            return "database unavailable: \(detail)"
        }
    }
}

extension StoreError {
    /// What ``SubscriptionProgressStore/replaceCheckpoints(of:expecting:with:at:)`` throws when
    /// the checkpoints it `found` are not the `expected` ones: the first that differs.
    public static func checkpointsDiffer(found: [String: Int64], expected: [String: Int64], subscription: String) -> StoreError {
        let moved = Set(found.keys).union(expected.keys).sorted().first { found[$0] != expected[$0] } ?? subscription
        return .checkpointMoved(subscription: moved, expected: expected[moved] ?? -1, found: found[moved])
    }

    /// Whether the error is an outage of the store (``unavailable(_:)``, ``diskFull(_:)``,
    /// ``readOnly(_:)``) rather than something about the data.
    ///
    /// A subscription never counts an outage as a handler failure: the pass ends and is
    /// retried after back-off, with no attempt counted and no dead letter written. Handlers
    /// should let the store's errors through as they are.
    public var isOutage: Bool {
        switch self {
        case .unavailable, .diskFull, .readOnly: true
        default: false
        }
    }

    /// Whether `error` is a ``StoreError`` that ``isOutage``.
    public static func isOutage(_ error: any Error) -> Bool { (error as? StoreError)?.isOutage ?? false }
}
