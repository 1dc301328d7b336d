import Foundation
import Logging

/// Delivers due ``ScheduledMessage``s: appends each one's event to the log and deletes the
/// message in one transaction, so subscriptions receive it like any other event.
///
/// Guarantees: a message is delivered once (the delete is conditional, so with several
/// schedulers or nodes exactly one transaction wins), never before its due time on the
/// injected clock, and never after the commit that cancelled it.
public final class MessageScheduler: Sendable {
    let store: any ScheduledMessageStore & ChangesetCommitting
    let clock: any HeraldClock
    let pollInterval: Duration
    let batchSize: Int
    let logger: Logger

    init(store: any ScheduledMessageStore & ChangesetCommitting, clock: any HeraldClock, pollInterval: Duration, batchSize: Int, logger: Logger) {
        self.store = store
        self.clock = clock
        self.pollInterval = pollInterval
        self.batchSize = batchSize
        self.logger = logger
    }

    /// Delivers every message due now.
    ///
    /// - Returns: the events appended.
    @discardableResult
    public func deliverDueMessages() async throws -> [EventEnvelope] {
        var delivered: [EventEnvelope] = []
        while true {
            let now = clock.now()
            let due = try await store.dueScheduledMessages(at: now, limit: batchSize)
            guard !due.isEmpty else { return delivered }
            do {
                delivered += try await deliver(due, at: now)
            } catch StoreError.scheduledMessageGone {
                // Cancelled or delivered elsewhere meanwhile: deliver the rest one by one.
                for message in due {
                    do {
                        delivered += try await deliver([message], at: now)
                    } catch StoreError.scheduledMessageGone {
                        continue
                    }
                }
            }
            if due.count < batchSize { return delivered }
        }
    }

    /// Runs until `stop` is requested or the task is cancelled, waking when the next
    /// message is due, on commits that schedule messages (a new one may be due sooner; on
    /// PostgreSQL also those of other nodes), and every poll interval. Commits that only
    /// append events do not wake it: on every node it would read the schedule twice per
    /// commit of the cluster.
    public func run(stop: StopFlag) async throws {
        let signal = store.commitSignal
        while !stop.isRequested {
            try Task.checkCancellation()
            let generation = signal.generation
            var deadline = clock.now().adding(pollInterval)
            do {
                try await deliverDueMessages()
                if let next = try await store.nextScheduledDueDate() { deadline = min(deadline, next) }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if Task.isCancelled { throw CancellationError() }
                logger.error("scheduled message delivery failed, will retry", metadata: ["error": "\(error)"])
            }
            if stop.isRequested { break }
            await signal.wait(since: generation, until: deadline, clock: clock, interest: .noEvents)
        }
    }

    private func deliver(_ messages: [ScheduledMessage], at now: Date) async throws -> [EventEnvelope] {
        var changeset = Changeset(recordedAt: now)
        changeset.deliveredSchedules = messages.map(\.key)
        changeset.events = messages.map { message in
            var event = message.event
            event.occurredAt = message.dueAt
            return event
        }
        return try await store.commit(changeset)
    }
}
