import Foundation
import ServiceLifecycle
import Synchronization

/// Wakes waiting subscription workers and schedulers when something was committed in
/// this process. Every store owns one and calls ``notify(committed:at:)`` after each commit.
///
/// The signal counts generations, so a waiter that read ``generation`` before checking
/// for work never misses a commit that happened in between.
public final class CommitSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var nextWaiterID = 0
        var waiters: [Int: (interest: WakeInterest?, continuation: CheckedContinuation<Void, Never>)] = [:]
        /// The latest notifications, oldest first, so that a waiter can tell whether one it
        /// cares about came since it looked (one older than these counts as one it cares about).
        var recent: [(generation: UInt64, touch: CommitTouch?)] = []
        /// Whether a waiter ever waited with an interest: until then no commit's touch is
        /// worth computing.
        var filtering = false

        /// Whether a notification after `seen` may interest a waiter with `interest`.
        func notified(since seen: UInt64, _ interest: WakeInterest?) -> Bool {
            guard generation != seen else { return false }
            guard let interest, let oldest = recent.first, oldest.generation <= seen &+ 1 else { return true }
            return recent.contains { $0.generation > seen && interest.matches($0.touch) }
        }

        mutating func remember(_ touch: CommitTouch?) {
            // Trimmed a batch at a time: a commit's notification stays O(1).
            recent.append((generation, touch))
            if recent.count >= 2 * CommitSignal.remembered { recent.removeFirst(recent.count - CommitSignal.remembered) }
        }
    }

    /// How many notifications are remembered for waiters that are not waiting yet.
    public static let remembered = 256

    private let state = Mutex(State())

    public init() {}

    /// The number of notifications so far.
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Announces a commit: resumes every waiter, or, when `touch` says what the commit
    /// appended, the waiters whose ``WakeInterest`` it matches (and those without one).
    /// `nil`: anything may have changed (a stop request, a reconnect, a commit without events).
    public func notify(_ touch: CommitTouch? = nil) {
        let waiters = state.withLock { state in
            state.generation &+= 1
            state.remember(touch)
            let woken = state.waiters.filter { $0.value.interest?.matches(touch) ?? true }
            for id in woken.keys { state.waiters[id] = nil }
            return woken.values.map(\.continuation)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// ``notify(_:)`` with what `events` touch, computed only once some waiter waits with
    /// an interest or asks ``unconcernedAppends(since:interest:after:)`` (until then every
    /// waiter wakes and reads anyway).
    public func notify(appended events: [NewEvent], at positions: ClosedRange<Int64>? = nil, schedules: Bool = false) {
        notify(state.withLock { $0.filtering } ? CommitTouch(events, positions: positions, schedules: schedules) : nil)
    }

    /// Announces a commit: what its events touch, at which positions when the store knows
    /// them (`positions`: the range its events took, every position in it theirs), and
    /// whether it scheduled messages (which wakes a message scheduler).
    public func notify(committed changeset: Changeset, at positions: ClosedRange<Int64>? = nil) {
        notify(appended: changeset.events, at: positions, schedules: !changeset.scheduled.isEmpty)
    }

    /// Whether everything announced after generation `seen` is known to be of no concern to
    /// a worker with `interest` that has read the log through `position`: each notification
    /// since is still remembered, says what it appended and where, holds no event of
    /// interest, and together they took every position from `position + 1` on without a
    /// gap (an event committed by another process, or one whose commit is not announced
    /// yet, would leave one). Then the worker may move past them without reading them.
    ///
    /// - Returns: the generation now and the last position the notifications took
    ///   (`position` when they took none after it); `nil` when the worker must read.
    public func unconcernedAppends(since seen: UInt64, interest: WakeInterest, after position: Int64) -> (generation: UInt64, through: Int64)? {
        state.withLock { state in
            state.filtering = true
            guard state.generation != seen else { return (seen, position) }
            guard let oldest = state.recent.first, oldest.generation <= seen &+ 1 else { return nil }
            var ranges: [ClosedRange<Int64>] = []
            for notification in state.recent where notification.generation > seen {
                guard let touch = notification.touch, let positions = touch.positions, !interest.matches(touch) else { return nil }
                if positions.upperBound > position { ranges.append(positions) }
            }
            var through = position
            for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
                guard range.lowerBound <= through + 1 else { return nil }  // a gap: something else took it
                through = max(through, range.upperBound)
            }
            return (state.generation, through)
        }
    }

    /// Returns once a notification came after generation `seen` that may interest a waiter
    /// with `interest` (any, when `nil`), or when the task is cancelled.
    public func wait(since seen: UInt64, interest: WakeInterest? = nil) async {
        let id = state.withLock { state -> Int in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if interest != nil { state.filtering = true }
                    if state.notified(since: seen, interest) || Task.isCancelled { return true }
                    state.waiters[id] = (interest, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume()
        }
    }

    /// Returns once a notification after `seen` may interest a waiter with `interest`,
    /// `deadline` has come (on `clock`), or the task is cancelled: a wait for work with
    /// polling as the fallback.
    public func wait(since seen: UInt64, until deadline: Date, clock: any HeraldClock, interest: WakeInterest? = nil) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait(since: seen, interest: interest) }
            group.addTask { try? await clock.sleep(until: deadline) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Sleeps until `deadline` on `clock`, waking early when one of `stops` is requested
    /// (whoever requests it fires this signal without events) or the task is cancelled.
    /// Commits that append events do not wake it: a node's coordinators would otherwise
    /// wake (and go back to sleep) on every commit.
    public func sleep(until deadline: Date, clock: any HeraldClock, unless stops: StopFlag...) async {
        while true {
            let seen = generation
            guard !stops.contains(where: \.isRequested), !Task.isCancelled, clock.now() < deadline else { return }
            await wait(since: seen, until: deadline, clock: clock, interest: .noEvents)
        }
    }

    /// Runs `step` again and again until the task is cancelled or a graceful shutdown
    /// begins, waiting after each step until this signal fires or `interval` has passed on
    /// `clock`: a follower of announced changes, with polling as the fallback. A signal that
    /// fires during a step is not missed.
    public func repeatedly(every interval: Duration, clock: any HeraldClock, _ step: () async -> Void) async {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let seen = generation
            await step()
            let deadline = clock.now().adding(interval)
            // Returns early when the service group shuts down (and the loop ends).
            await cancelWhenGracefulShutdown { await self.wait(since: seen, until: deadline, clock: clock) }
        }
    }
}

/// What one commit appended: its events' types and their streams' hashes
/// (``Partitioning/streamHash(_:)``), for waking only the workers it concerns.
public struct CommitTouch: Sendable, Hashable {
    public var eventTypes: Set<String>
    public var streamHashes: Set<Int64>
    /// The positions the commit's events took, when the store knows them (each position of
    /// the range one of them): lets a worker that wants none of them move past them without
    /// reading (``CommitSignal/unconcernedAppends(since:interest:after:)``).
    public var positions: ClosedRange<Int64>?
    /// Whether the commit scheduled messages: it wakes a message scheduler.
    public var schedules: Bool

    public init(eventTypes: Set<String>, streamHashes: Set<Int64>, positions: ClosedRange<Int64>? = nil, schedules: Bool = false) {
        self.eventTypes = eventTypes
        self.streamHashes = streamHashes
        self.positions = positions
        self.schedules = schedules
    }

    /// What `events` touch; `nil` (anything) when there are none: a commit without events
    /// changed something else a waiter may be waiting for (a parked event, a schedule).
    public init?(_ events: [NewEvent], positions: ClosedRange<Int64>? = nil, schedules: Bool = false) {
        guard !events.isEmpty else { return nil }
        self.init(
            eventTypes: Set(events.map(\.eventType)), streamHashes: Set(events.map { Partitioning.streamHash($0.stream) }),
            positions: positions, schedules: schedules)
    }

    /// As PostgreSQL's commit function sends it: `|type,type…|hash,hash…`; `nil` for any
    /// other payload.
    public init?(payload: String) {
        let parts = payload.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty else { return nil }
        let hashes = parts[2].split(separator: ",").map { Int64($0) }
        guard !parts[1].isEmpty, hashes.allSatisfy({ $0 != nil }) else { return nil }
        self.init(eventTypes: Set(parts[1].split(separator: ",").map(String.init)), streamHashes: Set(hashes.compactMap { $0 }))
    }
}

/// What a waiting worker handles: events of some types (all when `nil`), of the streams of
/// one partition (all when `nil`). A notification that may hold such an event wakes it;
/// one that cannot, does not.
public struct WakeInterest: Sendable, Hashable {
    public var eventTypes: Set<String>?
    public var partition: Int?
    public var partitionCount: Int
    /// Whether commits that schedule messages concern it, whatever events they append.
    public var schedules: Bool

    public init(eventTypes: Set<String>? = nil, partition: Int? = nil, partitionCount: Int = 1, schedules: Bool = false) {
        self.eventTypes = eventTypes
        self.partition = partition
        self.partitionCount = partitionCount
        self.schedules = schedules
    }

    /// Only notifications that carry no events (a stop request, a change without events)
    /// and commits that schedule messages.
    public static let noEvents = WakeInterest(eventTypes: [], schedules: true)

    /// Whether `touch` may hold an event of interest, or schedules messages when that is of
    /// interest (`nil`: it may).
    public func matches(_ touch: CommitTouch?) -> Bool {
        guard let touch else { return true }
        if schedules && touch.schedules { return true }
        if let eventTypes, eventTypes.isDisjoint(with: touch.eventTypes) { return false }
        if let partition, !touch.streamHashes.contains(where: { Int($0 % Int64(partitionCount)) == partition }) { return false }
        return true
    }
}
