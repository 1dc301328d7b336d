import Foundation

/// A named consumer of the event log with its own checkpoint, retry policy and dead letters.
///
/// Every subscription sees every event (that passes its ``eventTypes`` filter), in stream
/// order per aggregate. Choose the handler kind by where its effects live:
///
/// - ``Handler/transactional(_:)``: the handler's changes go into the ``UnitOfWork`` it is
///   given and commit in the same transaction that advances the checkpoint, so they
///   happen exactly once, across crashes and restarts.
/// - ``Handler/external(inbox:_:)``: for effects outside the database (HTTP, e-mail).
///   Delivery is at least once; pass ``Delivery/idempotencyKey`` to the callee. With
///   `inbox: true`, each handled event id is recorded right after the handler returns,
///   and re-deliveries of recorded ids are dropped.
///
/// ```swift
/// let reserveStock = Subscription(name: "inventory.reserve", eventTypes: [OrderSubmitted.eventType],
///                                 handler: .transactional { delivery, work in
///     let submitted = try delivery.decode(OrderSubmitted.self)
///     var stock = try await work.load(Stock.self, id: submitted.sku) ?? Stock(sku: submitted.sku)
///     try stock.reserve(submitted.quantity, for: submitted.orderID)
///     try work.save(&stock)
/// })
/// ```
public struct Subscription: Sendable {
    public enum Handler: Sendable {
        case transactional(@Sendable (Delivery, UnitOfWork) async throws -> Void)
        case external(inbox: Bool, @Sendable (Delivery) async throws -> Void)
    }

    /// Where a new subscription's checkpoint starts.
    public enum StartPosition: Sendable, Hashable {
        /// Sees every event ever stored.
        case beginning
        /// Sees only events stored after it first started.
        case end
    }

    public var name: String
    /// Event types to deliver; `nil` delivers all. Other events advance the checkpoint silently.
    public var eventTypes: Set<String>?
    public var retryPolicy: RetryPolicy
    /// Events read and committed per transaction.
    public var batchSize: Int
    /// How long to wait for an in-process commit signal before looking for new events anyway
    /// (commits by other processes are only seen by polling).
    public var pollInterval: Duration
    public var startPosition: StartPosition
    /// How long a running worker waits after a wake-up before it reads, so that commits
    /// arriving meanwhile are read (and handled, and committed) together. Zero by default:
    /// under heavy traffic a few milliseconds save many small reads and commits, at the
    /// cost of that much delivery latency.
    public var wakeDelay: Duration = .zero
    /// Splits the streams into partitions that several nodes share through leases; `nil`
    /// runs the whole subscription in every node that runs it, the nodes competing for its
    /// one checkpoint (safe, but only one node's batch commits at a time).
    public var partitioning: Partitioning?
    public var handler: Handler

    public init(
        name: String, eventTypes: Set<String>? = nil, retryPolicy: RetryPolicy = .default,
        batchSize: Int = 256, pollInterval: Duration = .seconds(1), startPosition: StartPosition = .beginning,
        partitioning: Partitioning? = nil, handler: Handler
    ) {
        self.partitioning = partitioning
        self.name = name
        self.eventTypes = eventTypes
        self.retryPolicy = retryPolicy
        self.batchSize = batchSize
        self.pollInterval = pollInterval
        self.startPosition = startPosition
        self.handler = handler
    }

    /// Checks the settings that ``RetryPolicy`` cannot check itself.
    ///
    /// - Throws: ``ConfigurationError`` naming the setting.
    public func validate() throws {
        guard !name.isEmpty, name.count <= 200, !name.contains("#") else {
            throw ConfigurationError(setting: "Subscription.name", value: "\"\(name)\"", allowed: "1 to 200 characters, without #")
        }
        try partitioning?.validate(subscription: name)
        guard batchSize >= 1, batchSize <= 10_000 else {
            throw ConfigurationError(setting: "Subscription.batchSize (\(name))", value: "\(batchSize)", allowed: "1 ... 10000")
        }
        guard wakeDelay >= .zero, wakeDelay < pollInterval else {
            throw ConfigurationError(
                setting: "Subscription.wakeDelay (\(name))", value: "\(wakeDelay)", allowed: "zero or more, less than pollInterval")
        }
        guard pollInterval > .zero else {
            throw ConfigurationError(setting: "Subscription.pollInterval (\(name))", value: "\(pollInterval)", allowed: "greater than zero")
        }
    }

    func wants(_ event: EventEnvelope) -> Bool { eventTypes?.contains(event.eventType) ?? true }
}

/// One event handed to a handler.
public struct Delivery: Sendable {
    public let envelope: EventEnvelope
    /// Failed attempts before this one (0 on first delivery).
    public let previousAttempts: Int
    let registry: EventRegistry

    /// The key an external callee should deduplicate on: the event id.
    public var idempotencyKey: String { envelope.eventID.uuidString }

    /// The event, decoded (and upcast) through the registry.
    ///
    /// - Throws: ``EventDecodingError``; a subscription dead-letters such an event at once.
    public func event() throws -> any DomainEvent { try registry.decode(envelope) }

    /// The event decoded as `type`.
    public func decode<E: DomainEvent>(_ type: E.Type) throws -> E { try registry.decode(type, from: envelope) }
}

/// An error that retrying cannot fix: the event becomes a dead letter at once.
///
/// ``EventDecodingError`` and ``AggregateDecodingError`` are permanent by nature.
public protocol PermanentFailure: Error {}

/// An error that says the handler's dependency is out (a payment gateway behind an open
/// circuit breaker, say), not that the event is wrong: a subscription pauses instead of
/// burning the event's attempts.
///
/// When a handler throws one, the worker ends the pass without committing it and without
/// counting an attempt (as when the store itself fails), and tries again after
/// ``retryAfter`` (within 100 ms ... 60 s; the subscription's outage back-off when `nil`).
/// An outage of the dependency then leaves no dead letters, however long it lasts; the
/// first pass after it, a half-open breaker's probe, resumes the subscription.
///
/// ```swift
/// handler: .external(inbox: true) { delivery in
///     try await gatewayBreaker.run { try await gateway.refund(…) }  // CircuitOpen conforms
/// }
/// ```
public protocol DependencyUnavailable: Error {
    /// When trying again may succeed.
    var retryAfter: Duration? { get }
}

extension EventDecodingError: PermanentFailure {}
extension AggregateDecodingError: PermanentFailure {}
