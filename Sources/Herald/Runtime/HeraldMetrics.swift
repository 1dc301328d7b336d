import CoreMetrics
import Synchronization

/// What Herald counts and times, through swift-metrics, with the factory the application
/// gives its engine (``HeraldEngine/init(store:registry:clock:random:logger:aggregateCache:node:metrics:tracer:)``):
/// a Prometheus registry, say. An engine without one records nothing.
///
/// - `herald_commits_total{kind}` and `herald_commit_duration_seconds{kind}`: commits that
///   succeeded and how long each took, by `kind`: `unit_of_work` (an application's change)
///   or `subscription` (a batch of handled events with its checkpoint).
/// - `herald_commit_conflicts_total{kind}`: commits refused on a version check.
/// - `herald_events_committed_total{type}`: events appended, by event type (so
///   `OrderPaid` and `OrderCancelled` count orders by outcome).
/// - `herald_handler_duration_seconds{subscription}` and
///   `herald_handler_failures_total{subscription}`: each handler call, and those that failed.
public final class HeraldMetrics: Sendable {
    enum CommitKind: String {
        case unitOfWork = "unit_of_work"
        case subscription
    }

    private let factory: any MetricsFactory
    private let commits: [String: (count: Counter, duration: CoreMetrics.Timer, conflicts: Counter)]
    private let eventTypes = Mutex<[String: Counter]>([:])
    private let handlers = Mutex<[String: (duration: CoreMetrics.Timer, failures: Counter)]>([:])
    private let others = Mutex<[OtherKey: any Sendable]>([:])

    private struct OtherKey: Hashable {
        var label: String
        var dimensions: [String]
    }

    public init(factory: any MetricsFactory) {
        self.factory = factory
        var commits: [String: (count: Counter, duration: CoreMetrics.Timer, conflicts: Counter)] = [:]
        for kind in [CommitKind.unitOfWork, .subscription] {
            let dimensions = [("kind", kind.rawValue)]
            commits[kind.rawValue] = (
                Counter(label: "herald_commits_total", dimensions: dimensions, factory: factory),
                CoreMetrics.Timer(label: "herald_commit_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory),
                Counter(label: "herald_commit_conflicts_total", dimensions: dimensions, factory: factory))
        }
        self.commits = commits
    }

    /// Times `commit` as a commit of `kind`, counting the events it appended.
    func commit(_ kind: CommitKind, _ changeset: Changeset, _ commit: () async throws -> [EventEnvelope]) async throws -> [EventEnvelope] {
        let metrics = commits[kind.rawValue]!
        let start = ContinuousClock.now
        let recorded: [EventEnvelope]
        do {
            recorded = try await commit()
        } catch let conflict as ConcurrencyConflict {
            metrics.conflicts.increment()
            throw conflict
        }
        metrics.duration.recordInterval(start, ContinuousClock.now)
        metrics.count.increment()
        for event in changeset.events { eventCounter(event.eventType).increment() }
        return recorded
    }

    /// Times one handler call of `subscription`.
    func handler<T>(_ subscription: String, _ body: () async throws -> T) async rethrows -> T {
        let metrics = handlers.withLock { handlers in
            if let existing = handlers[subscription] { return existing }
            let dimensions = [("subscription", subscription)]
            let made = (
                duration: CoreMetrics.Timer(label: "herald_handler_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory),
                failures: Counter(label: "herald_handler_failures_total", dimensions: dimensions, factory: factory))
            handlers[subscription] = made
            return made
        }
        let start = ContinuousClock.now
        defer { metrics.duration.recordInterval(start, ContinuousClock.now) }
        do {
            return try await body()
        } catch {
            metrics.failures.increment()
            throw error
        }
    }

    /// A counter of the application's, through the same factory (made once per label and
    /// dimensions): what runs on the engine (jobs, say) counts where its commits do.
    public func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Counter {
        other(label, dimensions) { Counter(label: label, dimensions: dimensions, factory: factory) }
    }

    /// A timer of the application's, in seconds, as ``counter(_:_:)``.
    public func timer(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Timer {
        other(label, dimensions) { CoreMetrics.Timer(label: label, dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory) }
    }

    private func other<M: Sendable>(_ label: String, _ dimensions: [(String, String)], _ make: () -> M) -> M {
        let key = OtherKey(label: label, dimensions: dimensions.flatMap { [$0.0, $0.1] })
        return others.withLock { others in
            if let existing = others[key] as? M { return existing }
            let made = make()
            others[key] = made
            return made
        }
    }

    private func eventCounter(_ type: String) -> Counter {
        eventTypes.withLock { counters in
            if let existing = counters[type] { return existing }
            let made = Counter(label: "herald_events_committed_total", dimensions: [("type", type)], factory: factory)
            counters[type] = made
            return made
        }
    }
}

extension CoreMetrics.Timer {
    /// Records the time from `start` to `end`.
    func recordInterval(_ start: ContinuousClock.Instant, _ end: ContinuousClock.Instant) {
        recordNanoseconds((end - start).nanoseconds)
    }
}

extension ChangesetCommitting {
    /// Commits `changeset`, counted as `kind` when there are `metrics`.
    func commit(_ changeset: Changeset, countedAs kind: HeraldMetrics.CommitKind, in metrics: HeraldMetrics?) async throws -> [EventEnvelope] {
        guard let metrics else { return try await commit(changeset) }
        return try await metrics.commit(kind, changeset) { try await commit(changeset) }
    }
}
