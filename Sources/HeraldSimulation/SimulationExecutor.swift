// The deterministic executor every simulated task runs on.
//
// Which way in, and why. Three ways exist to run Swift concurrency deterministically here:
// - swift-concurrency-extras' `withMainSerialExecutor` hooks the global enqueue of the whole
//   process, so every other test running beside the simulation would run serially on the
//   main thread too, and it runs jobs in arrival order: one interleaving per program, where
//   a race hunt needs the seed to choose among the runnable jobs.
// - A `TaskExecutor` preference over an executor that runs jobs on threads does not
//   serialise them (swiftlang/swift#74395).
// - A job queue the simulation drives itself, chosen here: ``SimulationExecutor`` is a
//   `TaskExecutor` whose `enqueue` only queues; ``SimulationExecutor/drive(until:)`` runs
//   one job at a time on the calling thread and lets the seed pick which of the runnable
//   jobs goes next. Tasks started with this executor as their preference keep it for their
//   child tasks, task groups and `async let`s, and default actors run their jobs there too
//   (SE-0417), so every job of the simulated nodes passes through the queue; nothing of the
//   process outside the simulation is touched.
//
// Time is simulated: a sleeper (``SimulatedTime/sleep(until:)``, behind every node's
// ``NodeClock``) waits in the timeline, and only when no job is runnable does the driver
// move time to the earliest deadline. A job that arrives from another thread could only come
// from a timer, a thread or an unstructured task outside the simulation's control: the
// executor counts such jobs and the run fails with ``SimulationFailure/foreignJob``.
import Foundation
import Herald
import Synchronization

/// The queue of runnable jobs, run one at a time in an order drawn from the seed.
public final class SimulationExecutor: TaskExecutor {
    private let queue = Mutex<[UnownedJob]>([])
    private let foreignJobs = Atomic<Int>(0)
    private let driver: Mutex<pthread_t?> = Mutex(nil)
    let random: SeededRandomSource
    let trace: Trace
    public let time: SimulatedTime

    init(random: SeededRandomSource, trace: Trace, time: SimulatedTime) {
        self.random = random
        self.trace = trace
        self.time = time
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let fromDriver = driver.withLock { $0.map { pthread_equal($0, pthread_self()) != 0 } ?? true }
        if !fromDriver { foreignJobs.add(1, ordering: .relaxed) }
        queue.withLock { $0.append(job) }
    }

    private let stepCount = Atomic<Int>(0)

    /// Jobs run so far.
    public var steps: Int { stepCount.load(ordering: .relaxed) }

    /// Runs jobs, and moves time when none is runnable, until nothing is left to run or
    /// wake, `steps` jobs have run, or time passes `deadline`.
    ///
    /// - Returns: why it stopped.
    func drive(maxSteps: Int, until deadline: Date) -> DriveOutcome {
        driver.withLock { $0 = pthread_self() }
        defer { driver.withLock { $0 = nil } }
        while true {
            if foreignJobs.load(ordering: .relaxed) > 0 { return .foreignJob }
            let job: UnownedJob? = queue.withLock { queue in
                guard !queue.isEmpty else { return nil }
                let index = queue.count == 1 ? 0 : Int(random.next() % UInt64(queue.count))
                trace.mix(UInt64(queue.count) << 32 | UInt64(index))
                return queue.remove(at: index)
            }
            if let job {
                job.runSynchronously(on: asUnownedTaskExecutor())
                if stepCount.add(1, ordering: .relaxed).newValue >= maxSteps { return .stepLimit }
                continue
            }
            guard let next = time.nextDeadline() else { return .idle }
            guard next <= deadline else { return .timeLimit }
            time.advance(to: next)
            trace.mix(UInt64(bitPattern: Int64(next.timeIntervalSince1970 * 1_000_000)))
        }
    }

    enum DriveOutcome { case idle, stepLimit, timeLimit, foreignJob }
}

/// Simulated time: the current instant, and the tasks sleeping until a later one.
public final class SimulatedTime: Sendable {
    private struct Sleeper {
        let id: Int
        let deadline: Date
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Date
        var nextID = 0
        /// Ordered by deadline, then by arrival: wake-ups are deterministic.
        var sleepers: [Sleeper] = []
    }

    private let state: Mutex<State>
    public let start: Date

    init(start: Date) {
        self.start = start
        state = Mutex(State(now: start))
    }

    public var now: Date { state.withLock { $0.now } }

    /// Seconds since the simulation began, for traces.
    public var elapsed: TimeInterval { now.timeIntervalSince(start) }

    func nextDeadline() -> Date? { state.withLock { $0.sleepers.first?.deadline } }

    /// Moves time to `date` and wakes, in deadline order, every sleeper due by then.
    func advance(to date: Date) {
        let due = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now = max(state.now, date)
            let count = state.sleepers.prefix { $0.deadline <= state.now }.count
            let due = state.sleepers.prefix(count).map(\.continuation)
            state.sleepers.removeFirst(count)
            return due
        }
        for continuation in due { continuation.resume() }
    }

    /// Suspends until `deadline`; throws `CancellationError` when the task is cancelled first.
    public func sleep(until deadline: Date) async throws {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let result = state.withLock { state -> Result<Void, any Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    let sleeper = Sleeper(id: id, deadline: deadline, continuation: continuation)
                    let index = state.sleepers.firstIndex { $0.deadline > deadline } ?? state.sleepers.endIndex
                    state.sleepers.insert(sleeper, at: index)
                    return nil
                }
                if let result { continuation.resume(with: result) }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }
}

/// One node's view of simulated time: the shared timeline, off by the node's skew.
public struct NodeClock: HeraldClock {
    let time: SimulatedTime
    /// How far this node's clock runs ahead of the timeline (negative: behind).
    public let skew: Duration

    public func now() -> Date { time.now.adding(skew) }

    public func sleep(until deadline: Date) async throws {
        try await time.sleep(until: deadline.adding(.zero - skew))
    }
}
