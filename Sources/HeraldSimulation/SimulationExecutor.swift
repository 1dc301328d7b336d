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
// Time is simulated: a sleeper (on a `ManualClock`, behind every node's ``NodeClock``)
// waits in the timeline, and only when no job is runnable does the driver move time to the
// earliest deadline. A job that arrives from another thread could only come
// from a timer, a thread or an unstructured task outside the simulation's control: the
// executor counts such jobs and the run fails with ``SimulationFailure/foreignJob``.
import Foundation
import Herald
import HeraldTesting
import Synchronization

/// The queue of runnable jobs, run one at a time in an order drawn from the seed.
public final class SimulationExecutor: TaskExecutor {
    private let queue = Mutex<[UnownedJob]>([])
    private let foreignJobs = Atomic<Int>(0)
    private let driver: Mutex<pthread_t?> = Mutex(nil)
    let random: SeededRandomSource
    let trace: Trace
    /// Simulated time: a manual clock only the driver moves, when no job can run.
    public let time: ManualClock

    init(random: SeededRandomSource, trace: Trace, time: ManualClock) {
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
            guard let next = time.nextDeadline else { return .idle }
            guard next <= deadline else { return .timeLimit }
            time.advance(to: next)
            trace.mix(UInt64(bitPattern: Int64(next.timeIntervalSince1970 * 1_000_000)))
        }
    }

    enum DriveOutcome { case idle, stepLimit, timeLimit, foreignJob }
}

/// One node's view of simulated time: the shared timeline, off by the node's skew.
public struct NodeClock: HeraldClock {
    let time: ManualClock
    /// How far this node's clock runs ahead of the timeline (negative: behind).
    public let skew: Duration

    public func now() -> Date { time.now().adding(skew) }

    public func sleep(until deadline: Date) async throws {
        try await time.sleep(until: deadline.adding(.zero - skew))
    }
}
