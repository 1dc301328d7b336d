import Foundation

/// An event a subscription gave up on, with why and how often it failed.
public struct DeadLetter: Sendable, Hashable {
    public var parked: ParkedEvent
    /// The stored event.
    public var event: EventEnvelope?
    /// Later events of the same stream held behind this one for the same subscription.
    public var heldBehind: Int

    public var subscription: String { parked.subscription }
    public var position: Int64 { parked.position }
    public var attempts: Int { parked.attempts }
    public var lastError: String? { parked.lastError }
}

/// Lists, replays and discards dead letters.
///
/// Replay gives a dead letter a fresh set of attempts, due at once; its held successors
/// follow it in stream order once it succeeds. Discard drops it and releases its held
/// successors, in order. Neither ever delivers a later event of a stream before an
/// earlier one.
///
/// ```swift
/// let dead = try await engine.deadLetters.list(.init(subscription: "mailer"))
/// try await engine.deadLetters.replay(.init(subscription: "mailer"))
/// ```
public struct DeadLetters: Sendable {
    /// Which dead letters an operation applies to; `nil` fields match everything.
    public struct Filter: Sendable, Hashable {
        public var subscription: String?
        public var position: Int64?
        public var eventType: String?
        public var streamType: String?

        public init(subscription: String? = nil, position: Int64? = nil, eventType: String? = nil, streamType: String? = nil) {
            self.subscription = subscription
            self.position = position
            self.eventType = eventType
            self.streamType = streamType
        }

        /// Every dead letter of every subscription.
        public static let all = Filter()

        func matches(_ entry: ParkedEvent) -> Bool {
            (subscription == nil || subscription == entry.subscription)
                && (position == nil || position == entry.position)
                && (eventType == nil || eventType == entry.eventType)
                && (streamType == nil || streamType == entry.stream.type)
        }
    }

    let store: any SubscriptionProgressStore & ChangesetCommitting
    let clock: any HeraldClock

    /// Dead letters matching `filter`, by subscription and position.
    public func list(_ filter: Filter = .all) async throws -> [DeadLetter] {
        let parked = try await store.parkedEvents(subscription: filter.subscription)
        let dead = parked.filter { $0.status == .dead && filter.matches($0) }
        let events = Dictionary(uniqueKeysWithValues: try await store.events(at: dead.map(\.position)).map { ($0.position, $0) })
        return dead.map { entry in
            let held = parked.count { $0.subscription == entry.subscription && $0.stream == entry.stream && $0.status == .held }
            return DeadLetter(parked: entry, event: events[entry.position], heldBehind: held)
        }
    }

    /// Makes matching dead letters due for delivery now, with a fresh set of attempts.
    ///
    /// - Returns: how many were replayed.
    @discardableResult
    public func replay(_ filter: Filter) async throws -> Int {
        try await applyMatching(filter, replaying)
    }

    /// Drops matching dead letters; events held behind them are released in order.
    ///
    /// - Returns: how many were discarded.
    @discardableResult
    public func discard(_ filter: Filter) async throws -> Int {
        try await applyMatching(filter, discarding)
    }

    /// Replays exactly these dead letters, as ``list(_:)`` returned them.
    ///
    /// - Throws: ``StoreError/parkedEventChanged(subscription:position:)`` when one of them
    ///   changed since it was listed (replayed, discarded, or handled by someone else); then
    ///   none of that subscription's letters was replayed.
    /// - Returns: how many were replayed.
    @discardableResult
    public func replay(_ letters: [DeadLetter]) async throws -> Int {
        try await apply(letters.map(\.parked), replaying)
    }

    /// Discards exactly these dead letters, as ``list(_:)`` returned them.
    ///
    /// - Throws: ``StoreError/parkedEventChanged(subscription:position:)`` when one of them
    ///   changed since it was listed; then none of that subscription's letters was discarded.
    /// - Returns: how many were discarded.
    @discardableResult
    public func discard(_ letters: [DeadLetter]) async throws -> Int {
        try await apply(letters.map(\.parked), discarding)
    }

    private var replaying: @Sendable (inout SubscriptionProgress, ParkedEvent) -> Void {
        let now = clock.now()
        return { progress, entry in
            var retry = entry
            retry.status = .retrying
            retry.attempts = 0
            retry.nextAttemptAt = now
            progress.park.append(retry)
        }
    }

    private var discarding: @Sendable (inout SubscriptionProgress, ParkedEvent) -> Void {
        { progress, entry in progress.unpark.append(entry.position) }
    }

    /// Applies `change` to the dead letters matching `filter`, one commit per subscription.
    /// A commit that finds a letter changed since it was read (a worker or another operator
    /// acted on it) reads that subscription's letters again and retries, a few times.
    private func applyMatching(_ filter: Filter, _ change: (inout SubscriptionProgress, ParkedEvent) -> Void) async throws -> Int {
        let dead = try await store.parkedEvents(subscription: filter.subscription).filter { $0.status == .dead && filter.matches($0) }
        var count = 0
        for subscription in Set(dead.map(\.subscription)).sorted() {
            var entries = dead.filter { $0.subscription == subscription }
            for attempt in 1... {
                do {
                    count += try await apply(entries, change)
                    break
                } catch StoreError.parkedEventChanged where attempt < 5 {
                    entries = try await store.parkedEvents(subscription: subscription).filter { $0.status == .dead && filter.matches($0) }
                }
            }
        }
        return count
    }

    /// One commit per subscription, each guarded by the entries as they were read.
    private func apply(_ entries: [ParkedEvent], _ change: (inout SubscriptionProgress, ParkedEvent) -> Void) async throws -> Int {
        for (subscription, entries) in Dictionary(grouping: entries, by: \.subscription).sorted(by: { $0.key < $1.key }) {
            var changeset = Changeset(recordedAt: clock.now())
            var progress = SubscriptionProgress(subscription: subscription)
            for entry in entries {
                progress.expectedParked.append(entry.seen)
                change(&progress, entry)
            }
            changeset.subscription = progress
            _ = try await store.commit(changeset)
        }
        return entries.count
    }
}
