import Foundation
import Herald
import HeraldTesting
import Logging
import Synchronization

/// What one run simulates. Everything else is drawn from the seed.
public struct SimulationOptions: Sendable, Hashable {
    public var seed: UInt64
    /// Nodes running at once (each restarts after a crash).
    public var nodes = 3
    public var clients = 3
    /// Deposits each client makes.
    public var commandsPerClient = 8
    /// Which workload runs (`herald`, or `mall` with the Mall target).
    public var workload = "herald"
    /// Whether nodes crash (and restart) while the clients work.
    public var crashes = true
    /// Multiplies every probability of ``FaultRates`` (0: no faults but crashes).
    public var faultScale = 1.0
    public var bugs: Set<ReintroducedBug> = []
    /// Lines of the trace kept for a report.
    public var traceLines = 400
    /// Jobs the executor may run before the run counts as stuck.
    public var maxSteps = 5_000_000

    public init(seed: UInt64) { self.seed = seed }
}

/// What one run found.
public struct SimulationResult: Sendable {
    public var options: SimulationOptions
    /// A hash over every step: the same seed and options give the same hash.
    public var traceHash: UInt64
    /// Jobs the executor ran.
    public var steps: Int
    /// Simulated seconds the run lasted.
    public var simulatedSeconds: Double
    /// Broken invariants, each in words; empty when the run passed.
    public var violations: [String]
    /// Faults that struck, by kind, and node crashes.
    public var faults: [String: Int]
    /// The trace's last lines, numbered.
    public var trace: [(number: Int, line: String)]

    public var passed: Bool { violations.isEmpty }
}

/// One process of the simulated cluster, from its start to its crash or stop.
public final class SimulatedNode: Sendable {
    public let slot: Int
    /// `n<slot>.<incarnation>`: a restarted node is a new process with a new name.
    public let name: String
    public let engine: HeraldEngine
    /// What the workload's clients call on this node (its application).
    public let handle: any Sendable
    let store: FaultyStore
    let service: HeraldService
    let stop = StopFlag()
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(slot: Int, incarnation: Int, simulation: Simulation, skew: Duration) throws {
        self.slot = slot
        let name = "n\(slot).\(incarnation)"
        self.name = name
        let cluster = simulation.cluster
        let clock = NodeClock(time: cluster.time, skew: skew)
        store = FaultyStore(node: name, cluster: cluster, clock: clock)
        let trace = cluster.trace
        var logger = Logger(label: "herald", factory: { _ in TraceLogHandler(node: name, trace: trace) })
        logger.logLevel = .info
        engine = HeraldEngine(store: store, registry: simulation.workload.registry, clock: clock, random: cluster.random, logger: logger, node: name)
        (service, handle) = try simulation.workload.node(engine: engine, simulation: simulation)
    }

    /// Starts the node's Herald service on `executor`.
    func start(on executor: SimulationExecutor) {
        let service = service, stop = stop, trace = store.cluster.trace, name = name
        store.cluster.join(store)
        task.withLock {
            $0 = Task(executorPreference: executor) {
                do {
                    try await service.run(stop: stop)
                } catch {
                    trace.record("\(name) service ended: \(FaultyStore.describe(error))")
                }
            }
        }
    }

    /// Kills the process: every store call fails from now on, every task is cancelled.
    func crash() async {
        store.crash()
        store.cluster.leave(store)
        let running = task.withLock { $0 }
        running?.cancel()
        await running?.value
    }

    /// Asks the service to finish its batches and stop, and waits for it.
    func shutDown() async {
        stop.request()
        store.commitSignal.notify()
        await task.withLock { $0 }?.value
        store.cluster.leave(store)
    }
}

/// Herald's log lines, into the trace.
struct TraceLogHandler: LogHandler {
    let node: String
    let trace: Trace
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let details = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        trace.record("\(node) log \(event.level): \(event.message)\(details.isEmpty ? "" : " [\(details)]")")
    }
}

/// One seeded run of a ``Workload`` on simulated nodes; see ``run(_:workload:)``. What the
/// workload sees of it: the seed's draws, simulated time, the live nodes, the store behind
/// the faults, the trace.
public final class Simulation: Sendable {
    public let options: SimulationOptions
    public let workload: any Workload
    let executor: SimulationExecutor
    let cluster: Cluster
    private let nodes = Mutex<[Int: SimulatedNode]>([:])
    private let incarnations = Mutex<[Int: Int]>([:])
    /// The simulation began on this date (fixed: runs repeat).
    static let epoch = Date(timeIntervalSince1970: 1_900_000_000)

    init(options: SimulationOptions, workload: any Workload) {
        self.options = options
        self.workload = workload
        let random = SeededRandomSource(seed: options.seed)
        let time = ManualClock(now: Self.epoch)
        let trace = Trace(capacity: options.traceLines, time: time)
        executor = SimulationExecutor(random: random, trace: trace, time: time)
        cluster = Cluster(random: random, trace: trace, time: time, rates: FaultRates().scaled(by: options.faultScale), bugs: options.bugs)
    }

    /// Runs one seed to the end on the calling thread and checks every invariant.
    ///
    /// - Parameter workload: made for this run (it may keep what its clients saw).
    public static func run(_ options: SimulationOptions, workload: any Workload) -> SimulationResult {
        let simulation = Simulation(options: options, workload: workload)
        Task(executorPreference: simulation.executor) { await workload.around { await simulation.main() } }
        let outcome = simulation.executor.drive(maxSteps: options.maxSteps, until: epoch.addingTimeInterval(3_600))
        switch outcome {
        case .idle: break
        case .stepLimit: simulation.violate("the run did not end within \(options.maxSteps) steps")
        case .timeLimit: simulation.violate("the run did not end within an hour of simulated time (something never stops)")
        case .foreignJob: simulation.violate("a job arrived from outside the simulation (a thread, timer or unstructured task it does not control)")
        }
        var faults = simulation.cluster.faults.withLock { $0 }
        faults["crash"] = simulation.incarnations.withLock { $0.values.reduce(0) { $0 + $1 - 1 } }
        return SimulationResult(
            options: options, traceHash: simulation.cluster.trace.hash, steps: simulation.executor.steps,
            simulatedSeconds: simulation.cluster.time.now().timeIntervalSince(epoch), violations: simulation.cluster.violations.withLock { $0 }, faults: faults,
            trace: simulation.cluster.trace.lines())
    }

    // MARK: What a workload uses

    /// The store behind the faults: the simulation's own view, for setting up and checking.
    public var store: InMemoryEventStore { cluster.base }

    /// The seed's generator: every draw of the run comes from it.
    public var random: SeededRandomSource { cluster.random }

    /// The faults in force (none once the clients are done).
    public var faultRates: FaultRates { cluster.faultRates }

    /// Simulated time, as no node's clock shows it (they are skewed).
    public var now: Date { cluster.time.now() }

    /// Simulated time without skew, as a clock for engines of the workload's own (preparing,
    /// checking).
    public var clock: any HeraldClock { NodeClock(time: cluster.time, skew: .zero) }

    /// A uniform draw in `range`.
    public func draw(_ range: ClosedRange<Double>) -> Double { cluster.draw(range) }

    /// Whether a fault of probability `rate` strikes now; counted under `fault` when it does.
    public func strikes(_ rate: Double, counting fault: String) -> Bool {
        guard cluster.strikes(rate) else { return false }
        cluster.count(fault)
        return true
    }

    /// Sleeps `seconds` of simulated time.
    public func sleep(_ seconds: Double) async {
        try? await cluster.time.sleep(until: cluster.time.now().addingTimeInterval(seconds))
    }

    /// Adds a line to the trace.
    public func record(_ line: String) { cluster.trace.record(line) }

    /// Reports a broken invariant.
    public func violate(_ message: String) { cluster.violate(message) }

    /// A node that is up now, drawn from the seed; `nil` when every node is down.
    public func liveNode() -> SimulatedNode? {
        let live = nodes.withLock { $0.sorted { $0.key < $1.key }.map(\.value) }
        guard !live.isEmpty else { return nil }
        return live[Int(random.next() % UInt64(live.count))]
    }

    /// Whether every subscription in `checkpoints` (names as the store keeps them, partitions
    /// included) has reached the head of the log, nothing is parked and no scheduled message
    /// is left: the usual meaning of "settled".
    public func caughtUp(checkpoints expected: Set<String>) async -> Bool {
        do {
            let head = try await store.headPosition()
            let checkpoints = try await store.checkpoints()
            guard try await store.parkedEvents(subscription: nil).isEmpty, try await store.nextScheduledDueDate() == nil else { return false }
            return expected.isSubset(of: checkpoints.keys) && checkpoints.values.allSatisfy { $0 == head }
        } catch {
            return false
        }
    }

    /// What is left undone, in words, for a run that did not settle.
    public func leftUndone() async -> String {
        guard let head = try? await store.headPosition(), let checkpoints = try? await store.checkpoints(),
              let parked = try? await store.parkedEvents(subscription: nil), let scheduled = try? await store.scheduledMessageCounts(dueBy: now)
        else { return "the store could not be read" }
        let behind = checkpoints.filter { $0.value != head }.sorted { $0.key < $1.key }.map { "\($0.key) at \($0.value)" }
        let parkedList = parked.prefix(5).map { "\($0.subscription)@\($0.position) \($0.status)" }
        return "head \(head); behind: \(behind.joined(separator: ", ")); parked: \(parked.count) \(parkedList); scheduled: \(scheduled.pending) pending, \(scheduled.due) due"
    }

    // MARK: The run

    private func startNode(_ slot: Int) {
        let incarnation = incarnations.withLock { $0[slot, default: 0] += 1; return $0[slot]! }
        // Clocks disagree by up to half a second either way.
        let skew = Duration.milliseconds(Int64(cluster.draw(-500...500)))
        let node: SimulatedNode
        do {
            node = try SimulatedNode(slot: slot, incarnation: incarnation, simulation: self, skew: skew)
        } catch {
            return violate("node \(slot) could not be built: \(error)")
        }
        record("\(node.name) starts (clock \(skew.timeInterval >= 0 ? "+" : "")\(Int(skew.timeInterval * 1000)) ms)")
        nodes.withLock { $0[slot] = node }
        node.start(on: executor)
    }

    private func main() async {
        let faults = cluster.faultRates
        cluster.faultRates = .none
        do {
            try await workload.prepare(self)
        } catch {
            return violate("the workload could not be prepared: \(error)")
        }
        cluster.faultRates = faults
        for slot in 1...options.nodes { startNode(slot) }
        let working = StopFlag()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.chaos(while: working) }
            await workload.drive(self)
            working.request()
        }
        record("clients done; faults end")
        cluster.faultRates = .none
        let settled = await settle(within: 300)
        for node in nodes.withLock({ $0.sorted { $0.key < $1.key }.map(\.value) }) { await node.shutDown() }
        if !settled { violate("nothing settled within 300 s without faults: \(await leftUndone())") }
        await workload.check(self, settled: settled)
    }

    /// Crashes a node now and then while the clients work, and restarts it a little later.
    private func chaos(while working: StopFlag) async {
        guard options.crashes else { return }
        while !working.isRequested {
            await sleep(cluster.draw(3...15))
            guard !working.isRequested, let victim = liveNode() else { continue }
            record("\(victim.name) crashes")
            nodes.withLock { $0[victim.slot] = nil }
            await victim.crash()
            await sleep(cluster.draw(0.1...5))
            startNode(victim.slot)
        }
    }

    /// Waits (without faults) until the workload says everything has settled, or `seconds`
    /// have passed.
    private func settle(within seconds: Double) async -> Bool {
        let deadline = now.addingTimeInterval(seconds)
        while now < deadline {
            // A node may have crashed just before the faults ended: run every slot.
            for slot in 1...options.nodes where nodes.withLock({ $0[slot] == nil }) { startNode(slot) }
            if await workload.settled(self) {
                record("settled")
                return true
            }
            await sleep(1)
        }
        return false
    }
}
