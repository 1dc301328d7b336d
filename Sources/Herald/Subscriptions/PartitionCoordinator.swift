import Foundation
import Logging
import Synchronization

/// One partition of a subscription as this node sees it: its index and the lease (if any)
/// under which its worker may commit.
public final class PartitionSlot: Sendable {
    public let subscription: String
    public let index: Int
    public let partitioning: Partitioning
    private let current = Mutex<PartitionLease?>(nil)

    init(subscription: String, index: Int, partitioning: Partitioning) {
        self.subscription = subscription
        self.index = index
        self.partitioning = partitioning
    }

    /// The lease this node holds on the partition, if any.
    public var lease: PartitionLease? { current.withLock { $0 } }

    func hold(_ lease: PartitionLease?) { current.withLock { $0 = lease } }

    /// The lease to fence a commit with.
    ///
    /// - Throws: ``StoreError/leaseLost(subscription:partition:)`` when this node holds none.
    func fence() throws -> PartitionLease {
        guard let lease else { throw StoreError.leaseLost(subscription: subscription, partition: index) }
        return lease
    }
}

/// Runs this node's share of a partitioned subscription (see ``Partitioning``): announces
/// the node, takes and renews the leases of the partitions that belong to it, runs one
/// ``SubscriptionWorker`` per leased partition, and hands partitions over when the set of
/// live nodes changes.
///
/// A partition that belongs to another node now is given up gracefully: its worker
/// finishes the batch at hand, then the lease is released so the other node can take it at
/// once. A node that dies releases nothing; its leases expire after
/// ``Partitioning/leaseDuration``.
public final class PartitionCoordinator: Sendable {
    public let subscription: Subscription
    public let partitioning: Partitioning
    /// This node's name in leases and heartbeats.
    public let node: String
    let store: any PartitionLeases & SubscriptionProgressStore & ChangesetCommitting
    let clock: any HeraldClock
    let logger: Logger
    let makeWorker: @Sendable (PartitionSlot) throws -> SubscriptionWorker

    init(subscription: Subscription, partitioning: Partitioning, node: String, store: any PartitionLeases & SubscriptionProgressStore & ChangesetCommitting, clock: any HeraldClock,
         logger: Logger, makeWorker: @escaping @Sendable (PartitionSlot) throws -> SubscriptionWorker) {
        self.subscription = subscription
        self.partitioning = partitioning
        self.node = node
        self.store = store
        self.clock = clock
        self.logger = logger
        self.makeWorker = makeWorker
    }

    /// One partition's worker while it runs on this node.
    private final class Running: Sendable {
        let slot: PartitionSlot
        let worker: SubscriptionWorker
        let stop = StopFlag()
        let finished = Mutex(false)

        init(slot: PartitionSlot, worker: SubscriptionWorker) {
            self.slot = slot
            self.worker = worker
        }
    }

    /// Runs until `stop` is requested or the task is cancelled. On a stop request every
    /// worker finishes its batch and every lease is released.
    public func run(stop: StopFlag) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running: [Int: Running] = [:]
            while !stop.isRequested {
                try Task.checkCancellation()
                running = running.filter { !$0.value.finished.withLock { $0 } }
                var taken: [Running] = []
                do {
                    try await rebalance(&running, taking: &taken)
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    if Task.isCancelled { throw CancellationError() }
                    logger.error("partition leases could not be renewed, will retry", metadata: ["error": "\(error)"])
                }
                // Every partition taken gets its worker, even when a later step of the round
                // failed: its lease is held, and renewed, from now on, so no other node would
                // ever handle it (found by the simulation, seed 96: a partition stuck for good).
                for run in taken {
                    group.addTask { try await self.work(run) }
                }
                await store.commitSignal.sleep(until: clock.now().adding(partitioning.renewInterval), clock: clock, unless: stop)
            }
            for run in running.values { run.stop.request() }
            store.commitSignal.notify()
            try await group.waitForAll()
        }
    }

    /// One round: heartbeat, then renew or take the leases of this node's partitions and
    /// ask the workers of the others to stop. Adds each partition it takes to `taken` as it
    /// takes it: when a later step throws, those still need their workers.
    private func rebalance(_ running: inout [Int: Running], taking taken: inout [Running]) async throws {
        let now = clock.now()
        let expiresAt = now.adding(partitioning.leaseDuration)
        let nodes = try await store.heartbeat(group: subscription.name, node: node, now: now, expiresAt: expiresAt)
        let mine = Set(partitioning.partitions(of: node, among: nodes, group: subscription.name))
        var stopping = false
        for (partition, run) in running where !mine.contains(partition) && !run.stop.isRequested {
            logger.info("handing partition over", metadata: ["partition": "\(partition)", "nodes": "\(nodes)"])
            run.stop.request()
            stopping = true
        }
        for partition in mine.sorted() {
            let lease = try await store.acquireLease(
                subscription: subscription.name, partition: partition, owner: node, now: now, expiresAt: expiresAt)
            if let run = running[partition], !run.stop.isRequested {
                run.slot.hold(lease)
                if lease == nil {
                    logger.warning("partition lease taken by another node", metadata: ["partition": "\(partition)"])
                    run.stop.request()
                    stopping = true
                }
            } else if let lease, running[partition] == nil {
                let slot = PartitionSlot(subscription: subscription.name, index: partition, partitioning: partitioning)
                slot.hold(lease)
                let run = Running(slot: slot, worker: try makeWorker(slot))
                running[partition] = run
                taken.append(run)
                logger.info("partition taken", metadata: ["partition": "\(partition)", "token": "\(lease.token)"])
            }
        }
        if stopping { store.commitSignal.notify() }  // wake idle workers so they see their stop
    }

    /// Runs one partition's worker, then releases its lease (unless cancelled).
    private func work(_ run: Running) async throws {
        defer { run.finished.withLock { $0 = true } }
        try await run.worker.run(stop: run.stop)
        if let lease = run.slot.lease {
            run.slot.hold(nil)
            do { try await store.releaseLease(lease) } catch {
                logger.warning("releasing a partition lease failed; it will expire", metadata: ["error": "\(error)"])
            }
        }
    }
}
