import Foundation
import Herald
import Resilience
import Testing

/// The breaker's rules, step by step on a timeline of seconds.
struct CircuitBreakerMachineTests {
    enum Step {
        /// A call let through at the current second that ends `taking` seconds later.
        case call(CircuitBreakerMachine.Outcome, taking: Double = 0)
        /// A call that must be refused, with the wait it is told.
        case refused(retryAfter: Double)
        case wait(Double)
        case expect(CircuitBreakerMachine.State)
    }

    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func policy(_ window: CircuitBreakerPolicy.Window = .calls(4), minimumCalls: Int = 4) -> CircuitBreakerPolicy {
        var policy = CircuitBreakerPolicy()
        policy.window = window
        policy.minimumCalls = minimumCalls
        policy.failureRateThreshold = 0.5
        policy.slowCallRateThreshold = 0.75
        policy.slowCallDuration = .seconds(1)
        policy.waitInOpen = .seconds(10)
        policy.halfOpenProbes = 2
        return policy
    }

    /// Runs `steps`; returns the transitions, as "from→to".
    @discardableResult
    static func run(_ policy: CircuitBreakerPolicy, _ steps: [Step], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        var machine = try CircuitBreakerMachine(policy: policy)
        var now = start
        var transitions: [String] = []
        func note(_ transition: CircuitBreakerMachine.Transition?) {
            if let transition { transitions.append("\(transition.from.rawValue)→\(transition.to.rawValue)") }
        }
        for (number, step) in steps.enumerated() {
            switch step {
            case .call(let outcome, let taking):
                let (decision, transition) = machine.permit(at: now)
                note(transition)
                guard case .permitted(let permit) = decision else {
                    Issue.record("step \(number): call refused (\(decision))", sourceLocation: sourceLocation)
                    continue
                }
                note(machine.record(permit, outcome, at: now.addingTimeInterval(taking)))
            case .refused(let retryAfter):
                let (decision, transition) = machine.permit(at: now)
                note(transition)
                #expect(decision == .rejected(retryAfter: .seconds(retryAfter)), "step \(number)", sourceLocation: sourceLocation)
            case .wait(let seconds):
                now = now.addingTimeInterval(seconds)
            case .expect(let state):
                #expect(machine.state == state, "step \(number)", sourceLocation: sourceLocation)
            }
        }
        return transitions
    }

    @Test func itJudgesOnlyOnceTheMinimumNumberOfCallsHaveEnded() throws {
        let transitions = try Self.run(Self.policy(), [
            .call(.failure), .call(.failure), .call(.failure), .expect(.closed),
            .call(.success), .expect(.open),
        ])
        #expect(transitions == ["closed→open"])
    }

    @Test func aFailureRateBelowTheThresholdKeepsItClosed() throws {
        try Self.run(Self.policy(), [
            .call(.failure), .call(.success), .call(.success), .call(.success), .call(.success), .call(.success), .expect(.closed),
        ])
    }

    @Test func slowCallsOpenItEvenWhenTheySucceed() throws {
        try Self.run(Self.policy(), [
            .call(.success, taking: 1), .call(.success, taking: 2), .call(.success, taking: 0.5), .call(.success, taking: 1.5),
            .expect(.open),
        ])
        // 2 of 4 slow is under the 0.75 threshold.
        try Self.run(Self.policy(), [
            .call(.success, taking: 1), .call(.success, taking: 2), .call(.success), .call(.success), .expect(.closed),
        ])
    }

    @Test func aCountWindowForgetsCallsOlderThanItsLength() throws {
        // Counting all seven calls, 3 failures would stay under half; the last four hold 2.
        try Self.run(Self.policy(.calls(4)), [
            .call(.failure), .call(.success), .call(.success), .call(.success), .expect(.closed),
            .call(.success), .call(.failure), .expect(.closed), .call(.failure), .expect(.open),
        ])
    }

    @Test func aTimeWindowForgetsCallsOlderThanItsSeconds() throws {
        try Self.run(Self.policy(.duration(.seconds(10)), minimumCalls: 2), [
            .call(.failure), .wait(10), .call(.success), .expect(.closed),  // the first failure has left the window
            .wait(3), .call(.failure), .expect(.open),  // 1 of the 2 calls of the last ten seconds failed
        ])
    }

    @Test func openItRefusesWithTheRemainingWaitThenLetsTheProbesThrough() throws {
        let transitions = try Self.run(Self.policy(), [
            .call(.failure), .call(.failure), .call(.failure), .call(.failure), .expect(.open),
            .wait(4), .refused(retryAfter: 6), .wait(6),
            .call(.success), .expect(.halfOpen), .call(.success), .expect(.closed),
        ])
        #expect(transitions == ["closed→open", "open→half-open", "half-open→closed"])
    }

    @Test func probesThatFailOpenItAgainForAnotherWait() throws {
        let transitions = try Self.run(Self.policy(), [
            .call(.failure), .call(.failure), .call(.failure), .call(.failure), .wait(10),
            .call(.failure), .call(.success), .expect(.open), .wait(9), .refused(retryAfter: 1),
        ])
        #expect(transitions == ["closed→open", "open→half-open", "half-open→open"])
    }

    @Test func halfOpenItLetsThroughNoMoreThanItsProbes() throws {
        var machine = try CircuitBreakerMachine(policy: Self.policy())
        _ = machine.forceOpen(at: Self.start, reason: "drill")
        let later = Self.start.addingTimeInterval(10)
        let decisions = (0..<3).map { _ in machine.permit(at: later).0 }
        #expect(decisions.filter { if case .permitted = $0 { true } else { false } }.count == 2)
        #expect(decisions.last == .rejected(retryAfter: .seconds(1)))
        // An ignored probe gives its place back.
        let first = try Self.permit(decisions[0], "the first probe")
        #expect(machine.record(first, .ignored, at: later) == nil)
        _ = try Self.permit(machine.permit(at: later).0, "the place an ignored probe gave back, offered again")
    }

    @Test func aCallLetThroughBeforeTheBreakerChangedDoesNotCountAfterwards() throws {
        var machine = try CircuitBreakerMachine(policy: Self.policy(minimumCalls: 1))
        let slow = try Self.permit(machine.permit(at: Self.start).0, "a call on a closed breaker")
        _ = machine.forceOpen(at: Self.start, reason: "drill")
        let probeTime = Self.start.addingTimeInterval(10)
        let probe = try Self.permit(machine.permit(at: probeTime).0, "a probe once the wait in open is over")
        // The old call ends now, failing: it must not take a probe's place or reopen it.
        #expect(machine.record(slow, .failure, at: probeTime) == nil)
        #expect(machine.state == .halfOpen)
        _ = machine.record(probe, .success, at: probeTime)
        #expect(machine.state == .halfOpen)
    }

    /// The permit of a decision that must be one; a refusal fails the test (it never passes
    /// by returning early).
    static func permit(_ decision: CircuitBreakerMachine.Decision, _ what: Comment) throws -> CircuitBreakerMachine.Permit {
        guard case .permitted(let permit) = decision else {
            throw RefusedPermit(description: "\(what): refused (\(decision))")
        }
        return permit
    }

    struct RefusedPermit: Error, CustomStringConvertible { var description: String }

    @Test func ignoredErrorsCountNeitherAsSuccessNorFailure() throws {
        try Self.run(Self.policy(), [
            .call(.failure), .call(.failure), .call(.ignored), .call(.ignored), .call(.ignored), .expect(.closed),
            .call(.success), .call(.failure), .expect(.open),
        ])
    }

    static func changed(_ change: (inout CircuitBreakerPolicy) -> Void) -> CircuitBreakerPolicy {
        var policy = CircuitBreakerPolicy()
        change(&policy)
        return policy
    }

    @Test(arguments: [
        ("window", changed { $0.window = .calls(0) }),
        ("window", changed { $0.window = .duration(.milliseconds(1500)) }),
        ("failureRateThreshold", changed { $0.failureRateThreshold = 0 }),
        ("failureRateThreshold", changed { $0.failureRateThreshold = 1.5 }),
        ("slowCallRateThreshold", changed { $0.slowCallRateThreshold = -1 }),
        ("slowCallDuration", changed { $0.slowCallDuration = .zero }),
        ("minimumCalls", changed { $0.minimumCalls = 0 }),
        ("minimumCalls", changed { $0.window = .calls(10); $0.minimumCalls = 11 }),
        ("waitInOpen", changed { $0.waitInOpen = .seconds(7200) }),
        ("halfOpenProbes", changed { $0.halfOpenProbes = 0 }),
    ])
    func anInvalidSettingIsRefusedByName(field: String, policy: CircuitBreakerPolicy) throws {
        try CircuitBreakerPolicy().validate()
        let error = #expect(throws: ConfigurationError.self) { try CircuitBreakerMachine(policy: policy) }
        #expect(error?.setting == "CircuitBreakerPolicy.\(field)")
        #expect(error?.allowed.isEmpty == false)
    }
}
