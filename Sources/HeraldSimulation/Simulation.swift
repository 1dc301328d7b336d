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
    public var accounts = 4
    /// Whether nodes crash (and restart) while the clients work.
    public var crashes = true
    /// Multiplies every probability of ``FaultRates`` (0: no faults but crashes).
    public var faultScale = 1.0
    public var bugs: Set<ReintroducedBug> = []
    /// Lines of the trace kept for a report.
    public var traceLines = 400

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

/// Effects outside the store (an e-mail sent, a call made): each delivery recorded, so
/// at-least-once delivery is checkable.
final class ExternalLedger: Sendable {
    private let deliveries = Mutex<[UUID: Int]>([:])

    func deliver(_ envelope: EventEnvelope) { deliveries.withLock { $0[envelope.eventID, default: 0] += 1 } }

    var counts: [UUID: Int] { deliveries.withLock { $0 } }
}

/// One process of the simulated cluster, from its start to its crash or stop.
final class SimulatedNode: Sendable {
    let slot: Int
    let name: String
    let store: FaultyStore
    let engine: HeraldEngine
    let stop = StopFlag()
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(slot: Int, incarnation: Int, cluster: Cluster, ledger: ExternalLedger, skew: Duration) {
        self.slot = slot
        name = "n\(slot).\(incarnation)"
        let clock = NodeClock(time: cluster.time, skew: skew)
        store = FaultyStore(node: name, cluster: cluster, clock: clock)
        let trace = cluster.trace, name = name
        var logger = Logger(label: "herald", factory: { _ in TraceLogHandler(node: name, trace: trace) })
        logger.logLevel = .info
        engine = HeraldEngine(store: store, registry: HeraldWorkload.registry, clock: clock, random: cluster.random, logger: logger, node: name)
    }

    /// Starts the node's Herald service on `executor`.
    func start(on executor: SimulationExecutor, subscriptions: [Subscription]) {
        let service: HeraldService
        do {
            service = try engine.service(subscriptions: subscriptions, schedulerPollInterval: .seconds(1))
        } catch {
            preconditionFailure("the simulation's subscriptions are invalid: \(error)")
        }
        let stop = stop, trace = store.cluster.trace, name = name
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

/// One seeded run of the Herald workload on simulated nodes; see ``run(_:)``.
public final class Simulation: Sendable {
    public let options: SimulationOptions
    let executor: SimulationExecutor
    let cluster: Cluster
    let ledger = ExternalLedger()
    let subscriptions: [Subscription]
    private let nodes = Mutex<[Int: SimulatedNode]>([:])
    private let incarnations = Mutex<[Int: Int]>([:])
    /// Each client command's outcome as its client saw it.
    private let commands = Mutex<[String: String]>([:])
    /// The simulation began on this date (fixed: runs repeat).
    static let epoch = Date(timeIntervalSince1970: 1_900_000_000)

    init(options: SimulationOptions) {
        self.options = options
        let random = SeededRandomSource(seed: options.seed)
        let time = SimulatedTime(start: Self.epoch)
        let trace = Trace(capacity: options.traceLines, time: time)
        executor = SimulationExecutor(random: random, trace: trace, time: time)
        cluster = Cluster(random: random, trace: trace, time: time, rates: FaultRates().scaled(by: options.faultScale), bugs: options.bugs)
        subscriptions = HeraldWorkload.subscriptions(cluster: cluster, ledger: ledger)
    }

    /// Runs one seed to the end on the calling thread and checks every invariant.
    public static func run(_ options: SimulationOptions) -> SimulationResult {
        let simulation = Simulation(options: options)
        Task(executorPreference: simulation.executor) { await simulation.main() }
        let outcome = simulation.executor.drive(maxSteps: 20_000_000, until: epoch.addingTimeInterval(3_600))
        switch outcome {
        case .idle: break
        case .stepLimit: simulation.violate("the run did not end within 20,000,000 steps")
        case .timeLimit: simulation.violate("the run did not end within an hour of simulated time (something never stops)")
        case .foreignJob: simulation.violate("a job arrived from outside the simulation (a thread, timer or unstructured task it does not control)")
        }
        var faults = simulation.cluster.faults.withLock { $0 }
        faults["crash"] = simulation.incarnations.withLock { $0.values.reduce(0) { $0 + $1 - 1 } }
        return SimulationResult(
            options: options, traceHash: simulation.cluster.trace.hash, steps: simulation.executor.steps,
            simulatedSeconds: simulation.cluster.time.elapsed, violations: simulation.cluster.violations.withLock { $0 }, faults: faults,
            trace: simulation.cluster.trace.lines())
    }

    func violate(_ message: String) { cluster.violate(message) }

    private var random: SeededRandomSource { cluster.random }
    private var time: SimulatedTime { cluster.time }

    private func sleep(_ seconds: Double) async {
        try? await time.sleep(until: time.now.addingTimeInterval(seconds))
    }

    private func startNode(_ slot: Int) {
        let incarnation = incarnations.withLock { $0[slot, default: 0] += 1; return $0[slot]! }
        // Clocks disagree by up to half a second either way.
        let skew = Duration.milliseconds(Int64(cluster.draw(-500...500)))
        let node = SimulatedNode(slot: slot, incarnation: incarnation, cluster: cluster, ledger: ledger, skew: skew)
        cluster.trace.record("\(node.name) starts (clock \(skew.timeInterval >= 0 ? "+" : "")\(Int(skew.timeInterval * 1000)) ms)")
        nodes.withLock { $0[slot] = node }
        node.start(on: executor, subscriptions: subscriptions)
    }

    private func liveNode() -> SimulatedNode? {
        let live = nodes.withLock { $0.sorted { $0.key < $1.key }.map(\.value) }
        guard !live.isEmpty else { return nil }
        return live[Int(random.next() % UInt64(live.count))]
    }

    private func main() async {
        for slot in 1...options.nodes { startNode(slot) }
        let working = StopFlag()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.chaos(while: working) }
            await withTaskGroup(of: Void.self) { clients in
                for client in 0..<options.clients { clients.addTask { await self.client(client) } }
            }
            working.request()
        }
        cluster.trace.record("clients done; faults end")
        cluster.faultRates = .none
        let settled = await settle(within: 300)
        for node in nodes.withLock({ $0.sorted { $0.key < $1.key }.map(\.value) }) { await node.shutDown() }
        await check(settled: settled)
    }

    /// Crashes a node now and then while the clients work, and restarts it a little later.
    private func chaos(while working: StopFlag) async {
        guard options.crashes else { return }
        while !working.isRequested {
            await sleep(cluster.draw(3...15))
            guard !working.isRequested, let victim = liveNode() else { continue }
            cluster.trace.record("\(victim.name) crashes")
            nodes.withLock { $0[victim.slot] = nil }
            await victim.crash()
            await sleep(cluster.draw(0.1...5))
            startNode(victim.slot)
        }
    }

    /// One client: deposits, each retried until it is known to have happened once.
    private func client(_ index: Int) async {
        var lastReminder: String?
        for number in 0..<options.commandsPerClient {
            await sleep(cluster.draw(0...3))
            let command = "c\(index)-\(number)"
            let account = "a\(random.next() % UInt64(options.accounts))"
            let reminder = random.nextUnit() < 0.4 ? "r-\(command)" : nil
            let cancelling = random.nextUnit() < 0.3 ? lastReminder : nil
            var outcome = "given up"
            attempts: for attempt in 1...20 {
                guard let node = liveNode() else {
                    await sleep(0.5)
                    continue
                }
                do {
                    let work = node.engine.unitOfWork()
                    var state = try await work.load(SimAccount.self, id: account) ?? SimAccount(id: account)
                    if state.commands.contains(command) {
                        outcome = "found done"  // an earlier attempt's commit was written after all
                        break attempts
                    }
                    state.deposit(1 + Int(random.next() % 100), command: command, cancelling: cancelling)
                    if let reminder {
                        try work.schedule(SimReminderDue(key: reminder), to: state.stream, at: node.engine.clock.now().addingTimeInterval(cluster.draw(1...20)), key: reminder)
                    }
                    if let cancelling { work.cancelScheduledMessage(key: cancelling) }
                    try work.save(&state)
                    try await work.commit()
                    outcome = "acknowledged"
                    break attempts
                } catch {
                    cluster.trace.record("client \(index) \(command) attempt \(attempt) on \(node.name): \(FaultyStore.describe(error))")
                    await sleep(cluster.draw(0.05...1))
                }
            }
            if reminder != nil, outcome != "given up" { lastReminder = reminder }
            commands.withLock { $0[command] = outcome }
            cluster.trace.record("client \(index) \(command) on \(account): \(outcome)")
        }
    }

    /// Waits (without faults) until every subscription has caught up with the log, nothing
    /// is parked and no scheduled message is left, or `seconds` have passed. Reads the store
    /// behind the faults: the simulation's own view, not a node's.
    private func settle(within seconds: Double) async -> Bool {
        let deadline = time.now.addingTimeInterval(seconds)
        while time.now < deadline {
            // A node may have crashed just before the faults ended: run every slot.
            for slot in 1...options.nodes where nodes.withLock({ $0[slot] == nil }) { startNode(slot) }
            if await caughtUp() {
                cluster.trace.record("settled")
                return true
            }
            await sleep(1)
        }
        return false
    }

    private func caughtUp() async -> Bool {
        let store = cluster.base
        do {
            let head = try await store.headPosition()
            let checkpoints = try await store.checkpoints()
            guard try await store.parkedEvents(subscription: nil).isEmpty, try await store.nextScheduledDueDate() == nil else { return false }
            let partitions = checkpoints.keys.filter { $0.hasPrefix(HeraldWorkload.partitioned + "#") }.count
            return partitions == 3 && checkpoints[HeraldWorkload.whole] != nil && checkpoints[HeraldWorkload.external] != nil
                && checkpoints.values.allSatisfy { $0 == head }
        } catch {
            return false
        }
    }

    /// Every invariant, read from the store behind the faults once the nodes are stopped.
    private func check(settled: Bool) async {
        let store = cluster.base
        guard let log = try? await store.events(after: 0, limit: Int.max), let checkpoints = try? await store.checkpoints(),
              let parked = try? await store.parkedEvents(subscription: nil), let scheduled = try? await store.scheduledMessageCounts(dueBy: time.now)
        else { return violate("the store could not be read after the run") }
        let registry = HeraldWorkload.registry
        func decode<E: DomainEvent>(_ type: E.Type, _ envelope: EventEnvelope) -> E? { try? registry.decode(type, from: envelope) }
        let watched = log.filter { HeraldWorkload.watched.contains($0.eventType) }
        let byID = Dictionary(uniqueKeysWithValues: watched.map { ($0.eventID, $0) })

        // Client commands: each happened at most once; each acknowledged one happened.
        var deposits: [String: Int] = [:]
        var cancelledAt: [String: Int64] = [:]
        for envelope in log where envelope.eventType == SimDeposited.eventType {
            guard let deposit = decode(SimDeposited.self, envelope) else { continue }
            deposits[deposit.command, default: 0] += 1
            if let key = deposit.cancels { cancelledAt[key] = envelope.position }
        }
        for (command, count) in deposits.sorted(by: { $0.key < $1.key }) where count > 1 {
            violate("command \(command) was applied \(count) times")
        }
        for (command, outcome) in commands.withLock({ $0 }).sorted(by: { $0.key < $1.key }) where outcome != "given up" && deposits[command] == nil {
            violate("command \(command) was \(outcome) but its deposit is not in the log")
        }
        // Reminders: never delivered after the commit that cancelled them.
        for envelope in log where envelope.eventType == SimReminderDue.eventType {
            guard let due = decode(SimReminderDue.self, envelope) else { continue }
            if let cancelled = cancelledAt[due.key], cancelled < envelope.position {
                violate("reminder \(due.key) was delivered at position \(envelope.position), after its cancellation at \(cancelled)")
            }
        }
        // Transactional subscriptions: exactly one effect per event, in stream order.
        for subscription in [HeraldWorkload.whole, HeraldWorkload.partitioned] {
            var effects: [UUID: Int] = [:]
            var lastVersion: [String: Int64] = [:]
            for envelope in log where envelope.eventType == SimEffect.eventType {
                guard let effect = decode(SimEffect.self, envelope), effect.subscription == subscription else { continue }
                effects[effect.source, default: 0] += 1
                if let last = lastVersion[effect.stream], last >= effect.version {
                    violate("\(subscription) handled \(effect.stream) version \(effect.version) after version \(last) (position \(envelope.position))")
                }
                lastVersion[effect.stream] = max(lastVersion[effect.stream] ?? 0, effect.version)
                if byID[effect.source] == nil { violate("\(subscription) has an effect of an event not in the log: \(effect.source)") }
            }
            for envelope in watched {
                let count = effects[envelope.eventID] ?? 0
                if count > 1 { violate("\(subscription) handled \(envelope.stream.id) v\(envelope.streamVersion) (position \(envelope.position)) \(count) times") }
                if count == 0 && settled { violate("\(subscription) never handled \(envelope.stream.id) v\(envelope.streamVersion) (position \(envelope.position))") }
            }
        }
        // The external subscription: at least once.
        let delivered = ledger.counts
        for envelope in watched where settled && delivered[envelope.eventID] == nil {
            violate("\(HeraldWorkload.external) never delivered position \(envelope.position)")
        }
        // Nothing stuck.
        if !settled {
            let head = log.last?.position ?? 0
            let behind = checkpoints.filter { $0.value != head }.sorted { $0.key < $1.key }.map { "\($0.key) at \($0.value)" }
            violate("nothing settled within 300 s without faults: head \(head); behind: \(behind.joined(separator: ", ")); parked: \(parked.count); scheduled: \(scheduled)")
        }
        if !parked.isEmpty {
            violate("parked events left: " + parked.map { "\($0.subscription)@\($0.position) \($0.status)" }.joined(separator: ", "))
        }
    }
}
