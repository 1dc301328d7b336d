import Foundation

/// A circuit breaker's decisions, as a value: no clock, no locks, no I/O. Time comes in
/// as an argument, so every rule can be checked in a table of steps.
/// ``CircuitBreaker`` runs one behind a lock with a clock.
///
/// Closed, it lets every call through and counts outcomes in its window; when the window's
/// failure or slow-call rate reaches the policy's threshold it opens. Open, it rejects
/// calls until ``CircuitBreakerPolicy/waitInOpen`` has passed; the first call after that
/// turns it half open. Half open, it lets ``CircuitBreakerPolicy/halfOpenProbes`` calls
/// through and rejects the rest; once every probe has ended it closes (rates below the
/// thresholds) or opens again.
///
/// A call's outcome counts only in the state it was let through in: a slow call that
/// started before the breaker opened cannot close it, or count twice.
public struct CircuitBreakerMachine: Sendable {
    public enum State: String, Sendable, Hashable {
        case closed
        case open
        case halfOpen = "half-open"
    }

    /// How a call ended, as the breaker counts it.
    public enum Outcome: Sendable, Hashable {
        case success
        case failure
        /// An error the breaker does not count (a caller's mistake, not the dependency's
        /// fault): neither success nor failure; a probe's slot is given back.
        case ignored
    }

    /// What a call may do now.
    public enum Decision: Sendable, Hashable {
        case permitted(Permit)
        /// The breaker is open (or its probes are all out): ask again after `retryAfter`.
        case rejected(retryAfter: Duration)
    }

    /// A let-through call's ticket: hand it back with the outcome.
    public struct Permit: Sendable, Hashable {
        let generation: Int
        public let startedAt: Date
    }

    public struct Transition: Sendable, Hashable {
        public var from: State
        public var to: State
        public var at: Date
        /// Why, in words (the rates that opened it, the wait that ended).
        public var reason: String
    }

    public let policy: CircuitBreakerPolicy
    public private(set) var state = State.closed
    /// Bumped at every transition: a permit of another generation is stale.
    private var generation = 0
    private var openUntil = Date.distantPast
    private var window: OutcomeWindow
    private var probesOut = 0
    private var probes = OutcomeWindow.Tally()

    /// - Throws: ``ConfigurationError`` for an invalid policy (see ``CircuitBreakerPolicy/validate()``).
    public init(policy: CircuitBreakerPolicy) throws {
        try policy.validate()
        self.policy = policy
        window = OutcomeWindow(policy.window)
    }

    /// Whether a call may start at `now`, and the transition this causes (open to half open).
    public mutating func permit(at now: Date) -> (Decision, Transition?) {
        var transition: Transition?
        if state == .open {
            guard now >= openUntil else { return (.rejected(retryAfter: .seconds(openUntil.timeIntervalSince(now))), nil) }
            transition = move(to: .halfOpen, at: now, reason: "waited \(policy.waitInOpen) open")
        }
        if state == .halfOpen {
            guard probesOut < policy.halfOpenProbes else { return (.rejected(retryAfter: .seconds(1)), transition) }
            probesOut += 1
        }
        return (.permitted(Permit(generation: generation, startedAt: now)), transition)
    }

    /// Counts a call that ended at `now`, and the transition this causes.
    public mutating func record(_ permit: Permit, _ outcome: Outcome, at now: Date) -> Transition? {
        guard permit.generation == generation else { return nil }
        let slow = now.timeIntervalSince(permit.startedAt) >= policy.slowCallDuration.timeInterval
        switch state {
        case .open:
            return nil
        case .closed:
            guard outcome != .ignored else { return nil }
            let tally = window.add(failed: outcome == .failure, slow: slow, at: now)
            guard tally.calls >= policy.minimumCalls, let reason = tripped(tally) else { return nil }
            return move(to: .open, at: now, reason: reason)
        case .halfOpen:
            guard outcome != .ignored else {
                probesOut -= 1
                return nil
            }
            probes.count(failed: outcome == .failure, slow: slow)
            guard probes.calls == policy.halfOpenProbes else { return nil }
            if let reason = tripped(probes) { return move(to: .open, at: now, reason: "probes: " + reason) }
            return move(to: .closed, at: now, reason: "\(probes.calls) probes passed")
        }
    }

    /// Opens the breaker now (a fault drill, an operator's switch): calls are rejected for
    /// ``CircuitBreakerPolicy/waitInOpen``, then probed as after any opening.
    public mutating func forceOpen(at now: Date, reason: String) -> Transition? {
        move(to: .open, at: now, reason: reason)
    }

    /// Closes the breaker now with an empty window.
    public mutating func reset(at now: Date, reason: String) -> Transition? {
        move(to: .closed, at: now, reason: reason)
    }

    private func tripped(_ tally: OutcomeWindow.Tally) -> String? {
        let failureRate = Double(tally.failures) / Double(tally.calls)
        let slowRate = Double(tally.slow) / Double(tally.calls)
        if failureRate >= policy.failureRateThreshold {
            return "\(tally.failures) of \(tally.calls) calls failed (threshold \(policy.failureRateThreshold))"
        }
        if slowRate >= policy.slowCallRateThreshold {
            return "\(tally.slow) of \(tally.calls) calls took \(policy.slowCallDuration) or more (threshold \(policy.slowCallRateThreshold))"
        }
        return nil
    }

    private mutating func move(to next: State, at now: Date, reason: String) -> Transition? {
        let previous = state
        state = next
        generation += 1
        window.reset()
        probesOut = 0
        probes = OutcomeWindow.Tally()
        if next == .open { openUntil = now.addingTimeInterval(policy.waitInOpen.timeInterval) }
        return previous == next && next != .open ? nil : Transition(from: previous, to: next, at: now, reason: reason)
    }
}

/// The calls a closed breaker judges: the last N, or those of the last N seconds.
struct OutcomeWindow: Sendable {
    struct Tally: Sendable, Hashable {
        var calls = 0
        var failures = 0
        var slow = 0

        mutating func count(failed: Bool, slow isSlow: Bool, times: Int = 1) {
            calls += times
            if failed { failures += times }
            if isSlow { slow += times }
        }

        static func - (a: Tally, b: Tally) -> Tally {
            Tally(calls: a.calls - b.calls, failures: a.failures - b.failures, slow: a.slow - b.slow)
        }
    }

    private enum Storage {
        /// The last calls' outcomes, a ring: bit 0 failed, bit 1 slow.
        case calls(ring: [UInt8], next: Int, limit: Int)
        /// One tally per second, a ring indexed by the second; `latest` is the newest second counted.
        case seconds(buckets: [Tally], latest: Int64)
    }

    private var storage: Storage
    private(set) var total = Tally()

    init(_ window: CircuitBreakerPolicy.Window) {
        switch window {
        case .calls(let limit): storage = .calls(ring: [], next: 0, limit: limit)
        case .duration(let duration): storage = .seconds(buckets: Array(repeating: Tally(), count: Int(duration.components.seconds)), latest: 0)
        }
    }

    /// Adds a call that ended at `now`; the tally of the window after it.
    mutating func add(failed: Bool, slow: Bool, at now: Date) -> Tally {
        let current = storage
        // The ring's only other reference is `storage`'s: dropped, the mutations below stay
        // in place instead of copying the ring on every call.
        storage = .calls(ring: [], next: 0, limit: 0)
        switch current {
        case .calls(var ring, var next, let limit):
            let bits = UInt8(failed ? 1 : 0) | UInt8(slow ? 2 : 0)
            if ring.count < limit {
                ring.append(bits)
            } else {
                let old = ring[next]
                total = total - Tally(calls: 1, failures: Int(old & 1), slow: Int(old >> 1 & 1))
                ring[next] = bits
            }
            next = (next + 1) % limit
            storage = .calls(ring: ring, next: next, limit: limit)
        case .seconds(var buckets, let latest):
            let second = Int64(now.timeIntervalSince1970.rounded(.down))
            // Seconds that passed since the newest counted are emptied (at most a whole ring).
            if second > latest {
                for passed in (max(latest + 1, second - Int64(buckets.count) + 1)...second) {
                    let index = Int(passed % Int64(buckets.count))
                    total = total - buckets[index]
                    buckets[index] = Tally()
                }
            }
            let index = Int(max(second, latest) % Int64(buckets.count))
            buckets[index].count(failed: failed, slow: slow)
            storage = .seconds(buckets: buckets, latest: max(second, latest))
        }
        total.count(failed: failed, slow: slow)
        return total
    }

    mutating func reset() {
        total = Tally()
        switch storage {
        case .calls(_, _, let limit): storage = .calls(ring: [], next: 0, limit: limit)
        case .seconds(let buckets, _): storage = .seconds(buckets: Array(repeating: Tally(), count: buckets.count), latest: 0)
        }
    }
}
