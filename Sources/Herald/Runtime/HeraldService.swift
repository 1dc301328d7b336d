import ServiceLifecycle

/// Runs subscription workers and the message scheduler under swift-service-lifecycle.
///
/// On graceful shutdown each worker finishes the batch it is handling and commits it, then
/// stops; on cancellation an in-flight batch is abandoned uncommitted. Either way no
/// checkpoint is ever ahead of its effects.
///
/// ```swift
/// let group = ServiceGroup(services: [try engine.service(subscriptions: subs)],
///                          gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
public struct HeraldService: Service {
    public let workers: [SubscriptionWorker]
    /// This node's share of the partitioned subscriptions.
    public let coordinators: [PartitionCoordinator]
    public let projections: [ProjectionWorker]
    public let scheduler: MessageScheduler
    let signal: CommitSignal

    public func run() async throws {
        let stop = StopFlag()
        try await withGracefulShutdownHandler {
            try await run(stop: stop)
        } onGracefulShutdown: {
            stop.request()
            signal.notify()  // wake idle loops so they see the request
        }
    }

    /// Runs everything until `stop` is requested (then wakes nothing: the caller notifies
    /// the store's ``CommitSignal`` so idle loops see the request) or the task is cancelled.
    /// ``run()`` is this under swift-service-lifecycle's graceful shutdown; a simulation
    /// drives it directly.
    public func run(stop: StopFlag) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in workers {
                group.addTask { try await worker.run(stop: stop) }
            }
            for coordinator in coordinators {
                group.addTask { try await coordinator.run(stop: stop) }
            }
            for projection in projections {
                group.addTask { try await projection.run(stop: stop) }
            }
            group.addTask { try await scheduler.run(stop: stop) }
            try await group.waitForAll()
        }
    }
}
