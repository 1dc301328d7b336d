import CoreMetrics
import Foundation
import Logging

/// The entry point: a store plus the registry, clock and random source everything shares.
///
/// ```swift
/// let engine = HeraldEngine(store: try SQLiteEventStore(path: "app.sqlite"), registry: registry)
/// let work = engine.unitOfWork()
/// // … load, change, save …
/// try await work.commit()
///
/// let service = try engine.service(subscriptions: [mailer, projector])
/// // run `service` in a ServiceGroup, next to the HTTP server
/// ```
public struct HeraldEngine: Sendable {
    public let store: any EventStore
    public let registry: EventRegistry
    public let clock: any HeraldClock
    public let random: any RandomSource
    public let logger: Logger
    /// Decoded aggregates shared by this engine's units of work and subscriptions.
    public let aggregateCache: AggregateCache
    /// This process's name in partition leases; unique per process by default.
    public let node: String
    /// Commits and handler calls counted and timed, when the application gave a factory.
    public let metrics: HeraldMetrics?
    /// Commits and handler calls as spans, when the application gave a tracer.
    public let tracing: HeraldTracing?
    /// The serving generation of each projection, as this engine last read it.
    public let projectionStates = ProjectionStateCache()
    /// Named wake-ups (``announce(_:)``): the store's when it is an ``AnnouncingStore``, so
    /// that other processes' announcements arrive here too.
    public let announcements: Announcements

    public init(
        store: any EventStore, registry: EventRegistry = EventRegistry(),
        clock: any HeraldClock = SystemClock(), random: any RandomSource = SystemRandomSource(),
        logger: Logger = Logger(label: "herald"), aggregateCache: AggregateCache = AggregateCache(),
        node: String = HeraldEngine.defaultNodeName(), metrics: (any MetricsFactory)? = nil, tracer: HeraldTracing? = nil
    ) {
        self.metrics = metrics.map(HeraldMetrics.init(factory:))
        self.tracing = tracer
        self.aggregateCache = aggregateCache
        self.node = node
        self.store = store
        self.announcements = store.announcements
        self.registry = registry
        self.clock = clock
        self.random = random
        self.logger = logger
    }

    /// A new, empty unit of work; events it appends carry `cause` (by default the task's
    /// ``UnitOfWork/Cause/current``).
    public func unitOfWork(cause: UnitOfWork.Cause = .current) -> UnitOfWork {
        UnitOfWork(store: store, clock: clock, cause: cause, cache: aggregateCache, metrics: metrics, tracing: tracing, random: random)
    }

    /// `<host>-<pid>-<random>`: unique among the processes sharing a database.
    public static func defaultNodeName() -> String {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(suffix)"
    }

    /// A worker for one subscription, to drive by hand (tests, tools) or run in a service.
    ///
    /// - Throws: ``ConfigurationError`` when the subscription's settings cannot work, or
    ///   when it is partitioned: its partitions' checkpoints are moved only under their
    ///   leases, by ``coordinator(for:)`` (which ``service(subscriptions:projections:schedulerPollInterval:)`` runs).
    public func worker(for subscription: Subscription) throws -> SubscriptionWorker {
        if let partitioning = subscription.partitioning {
            throw ConfigurationError(
                setting: "Subscription.partitioning (\(subscription.name))", value: "\(partitioning.count) partitions",
                allowed: "nil for a worker driven by hand; run a partitioned subscription with coordinator(for:) or service(subscriptions:)")
        }
        return try makeWorker(subscription, slot: nil)
    }

    private func makeWorker(_ subscription: Subscription, slot: PartitionSlot?) throws -> SubscriptionWorker {
        try SubscriptionWorker(
            subscription: subscription, store: store, registry: registry, clock: clock, random: random, logger: logger,
            cache: aggregateCache, metrics: metrics, tracing: tracing, slot: slot)
    }

    /// The coordinator running this node's partitions of a partitioned subscription.
    ///
    /// - Throws: ``ConfigurationError`` when the subscription's settings cannot work or it
    ///   has no ``Subscription/partitioning``.
    public func coordinator(for subscription: Subscription) throws -> PartitionCoordinator {
        try subscription.validate()
        guard let partitioning = subscription.partitioning else {
            throw ConfigurationError(setting: "Subscription.partitioning (\(subscription.name))", value: "nil", allowed: "a Partitioning")
        }
        return PartitionCoordinator(
            subscription: subscription, partitioning: partitioning, node: node, store: store, clock: clock, logger: logger,
            makeWorker: { slot in try makeWorker(subscription, slot: slot) })
    }

    /// The deliverer of scheduled messages.
    public func scheduler(pollInterval: Duration = .seconds(1), batchSize: Int = 100) -> MessageScheduler {
        MessageScheduler(store: store, clock: clock, pollInterval: pollInterval, batchSize: batchSize, logger: logger)
    }

    /// Dead-letter inspection and repair.
    public var deadLetters: DeadLetters { DeadLetters(store: store, clock: clock) }

    /// Progress of every subscription the store knows.
    public func subscriptionStatuses() async throws -> [SubscriptionStatus] {
        let head = try await store.headPosition()
        let parked = try await store.parkedEvents(subscription: nil)
        let checkpoints = try await store.checkpoints()
        // Who holds each partition: the live leases of the partitioned subscriptions.
        var holders: [String: [Int: String]] = [:]
        let now = clock.now()
        for subscription in Set(checkpoints.keys.compactMap { Partitioning.partitionCheckpoint($0)?.subscription }) {
            for lease in try await store.leases(subscription: subscription) where lease.expiresAt > now {
                holders[subscription, default: [:]][lease.partition] = lease.owner
            }
        }
        var statuses: [SubscriptionStatus] = []
        for (name, checkpoint) in checkpoints.sorted(by: { $0.key < $1.key }) {
            let mine = parked.filter { Self.checkpoint(name, covers: $0) }
            let part = Partitioning.partitionCheckpoint(name)
            statuses.append(SubscriptionStatus(
                name: name, checkpoint: checkpoint, lag: try await store.eventsBehind(checkpoint, through: head),
                retrying: mine.count { $0.status == .retrying }, dead: mine.count { $0.status == .dead },
                held: mine.count { $0.status == .held }, node: part.flatMap { holders[$0.subscription]?[$0.partition] }))
        }
        return statuses
    }

    /// A service running every subscription and projection and the scheduler until shutdown.
    ///
    /// - Throws: ``ConfigurationError`` for invalid settings or duplicate names.
    public func service(
        subscriptions: [Subscription], projections: [Projection] = [], schedulerPollInterval: Duration = .seconds(1)
    ) throws -> HeraldService {
        var names = Set<String>()
        for name in subscriptions.map(\.name) + projections.map(\.name) where !names.insert(name).inserted {
            throw ConfigurationError(setting: "Subscription.name", value: name, allowed: "unique among the service's subscriptions and projections")
        }
        return HeraldService(
            workers: try subscriptions.filter { $0.partitioning == nil }.map(worker(for:)),
            coordinators: try subscriptions.filter { $0.partitioning != nil }.map(coordinator(for:)),
            projections: try projections.map(projectionWorker(for:)),
            scheduler: scheduler(pollInterval: schedulerPollInterval), signal: store.commitSignal)
    }

    /// Whether a parked event counts for the checkpoint `name`: its subscription's, or, for
    /// a partition checkpoint `<subscription>#<partition>/<count>`, when its stream falls
    /// in that partition.
    static func checkpoint(_ name: String, covers parked: ParkedEvent) -> Bool {
        guard let part = Partitioning.partitionCheckpoint(name) else { return parked.subscription == name }
        return parked.subscription == part.subscription && Partitioning.partition(of: parked.stream, count: part.count) == part.partition
    }
}

/// Where one subscription stands.
public struct SubscriptionStatus: Sendable, Hashable, Codable {
    public var name: String
    public var checkpoint: Int64
    /// Events in the log after the checkpoint.
    public var lag: Int64
    public var retrying: Int
    public var dead: Int
    public var held: Int
    /// For a partition, the node holding its lease now (`nil`: none does; the next node to
    /// look takes it).
    public var node: String?
}
