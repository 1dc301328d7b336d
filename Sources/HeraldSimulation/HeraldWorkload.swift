import Foundation
import Herald
import Synchronization

// The Herald workload: clients deposit into a few accounts (so commands on one stream
// collide), some deposits schedule a reminder and some cancel one; on every node three
// subscriptions take the deposits and reminders: one whole and transactional, one
// partitioned and transactional (its effects are events in the log, so exactly-once is
// checkable), one whole and external with an inbox (its effects go to a ledger outside
// the store, as an e-mail would). Handlers fail now and then, drawn from the seed.

struct SimDeposited: DomainEvent {
    static let eventType = "sim.Deposited"
    var command: String
    var amount: Int
    /// The reminder this deposit cancels, if any.
    var cancels: String?
}

struct SimReminderDue: DomainEvent {
    static let eventType = "sim.ReminderDue"
    var key: String
}

/// What a transactional subscription did for one event: appended in the handler's unit
/// of work, so it exists exactly once per event handled.
struct SimEffect: DomainEvent {
    static let eventType = "sim.Effect"
    var subscription: String
    var source: UUID
    var stream: String
    var version: Int64
}

struct SimAccount: AggregateRoot {
    static let streamType = "SimAccount"
    var id: String
    var balance = 0
    var commands: [String] = []
    var pendingEvents = PendingEvents()

    init(id: String) { self.id = id }

    mutating func deposit(_ amount: Int, command: String, cancelling reminder: String?) {
        balance += amount
        commands.append(command)
        record(SimDeposited(command: command, amount: amount, cancels: reminder))
    }
}

struct SimHandlerFailure: Error, CustomStringConvertible {
    var description: String { "simulated handler failure" }
}

/// Effects outside the store (an e-mail sent, a call made): each delivery recorded, so
/// at-least-once delivery is checkable.
final class ExternalLedger: Sendable {
    private let deliveries = Mutex<[UUID: Int]>([:])

    func deliver(_ envelope: EventEnvelope) { deliveries.withLock { $0[envelope.eventID, default: 0] += 1 } }

    var counts: [UUID: Int] { deliveries.withLock { $0 } }
}

/// Herald's own workload (see the top of this file).
public final class HeraldWorkload: Workload {
    static let whole = "sim.effects"
    static let partitioned = "sim.partitioned"
    static let external = "sim.external"
    static let watched: Set<String> = [SimDeposited.eventType, SimReminderDue.eventType]

    let clients: Int
    let commandsPerClient: Int
    let accounts: Int
    let ledger = ExternalLedger()
    /// Each client command's outcome as its client saw it.
    private let commands = Mutex<[String: String]>([:])

    public init(options: SimulationOptions) {
        clients = options.clients
        commandsPerClient = options.commandsPerClient
        accounts = 4
    }

    public let registry: EventRegistry = {
        var registry = EventRegistry()
        registry.register(SimDeposited.self)
        registry.register(SimReminderDue.self)
        registry.register(SimEffect.self)
        return registry
    }()

    public func prepare(_ simulation: Simulation) async throws {}

    public func node(engine: HeraldEngine, simulation: Simulation) throws -> (service: HeraldService, handle: any Sendable) {
        (try engine.service(subscriptions: subscriptions(simulation), schedulerPollInterval: .seconds(1)), engine)
    }

    /// The subscriptions every node runs. Small batches and short back-off: more commits,
    /// more interleavings per simulated second.
    func subscriptions(_ simulation: Simulation) -> [Subscription] {
        let retries = try! RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(50), maxDelay: .seconds(2))
        let ledger = ledger
        func effect(_ name: String) -> Subscription.Handler {
            .transactional { delivery, work in
                if simulation.strikes(simulation.faultRates.handlerFailure, counting: "handler failure") { throw SimHandlerFailure() }
                let envelope = delivery.envelope
                try work.append(
                    SimEffect(subscription: name, source: envelope.eventID, stream: envelope.stream.id, version: envelope.streamVersion),
                    to: StreamID(type: "SimEffects", id: name))
            }
        }
        return [
            Subscription(name: Self.whole, eventTypes: Self.watched, retryPolicy: retries, batchSize: 4, handler: effect(Self.whole)),
            Subscription(
                name: Self.partitioned, eventTypes: Self.watched, retryPolicy: retries, batchSize: 4,
                partitioning: Partitioning(count: 3, leaseDuration: .seconds(10)), handler: effect(Self.partitioned)),
            Subscription(name: Self.external, eventTypes: Self.watched, retryPolicy: retries, batchSize: 4, handler: .external(inbox: true) { delivery in
                if simulation.strikes(simulation.faultRates.handlerFailure, counting: "handler failure") { throw SimHandlerFailure() }
                ledger.deliver(delivery.envelope)
            }),
        ]
    }

    public func drive(_ simulation: Simulation) async {
        await withTaskGroup(of: Void.self) { group in
            for client in 0..<clients { group.addTask { await self.client(client, simulation) } }
        }
    }

    /// One client: deposits, each retried until it is known to have happened once.
    private func client(_ index: Int, _ simulation: Simulation) async {
        let random = simulation.random
        var lastReminder: String?
        for number in 0..<commandsPerClient {
            await simulation.sleep(simulation.draw(0...3))
            let command = "c\(index)-\(number)"
            let account = "a\(random.next() % UInt64(accounts))"
            let reminder = random.nextUnit() < 0.4 ? "r-\(command)" : nil
            let cancelling = random.nextUnit() < 0.3 ? lastReminder : nil
            var outcome = "given up"
            attempts: for attempt in 1...20 {
                guard let node = simulation.liveNode() else {
                    await simulation.sleep(0.5)
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
                        try work.schedule(
                            SimReminderDue(key: reminder), to: state.stream, at: node.engine.clock.now().addingTimeInterval(simulation.draw(1...20)),
                            key: reminder)
                    }
                    if let cancelling { work.cancelScheduledMessage(key: cancelling) }
                    try work.save(&state)
                    try await work.commit()
                    outcome = "acknowledged"
                    break attempts
                } catch {
                    simulation.record("client \(index) \(command) attempt \(attempt) on \(node.name): \(FaultyStore.describe(error))")
                    await simulation.sleep(simulation.draw(0.05...1))
                }
            }
            if reminder != nil, outcome != "given up" { lastReminder = reminder }
            commands.withLock { $0[command] = outcome }
            simulation.record("client \(index) \(command) on \(account): \(outcome)")
        }
    }

    public func settled(_ simulation: Simulation) async -> Bool {
        await simulation.caughtUp(checkpoints: Set([Self.whole, Self.external] + (0..<3).map { "\(Self.partitioned)#\($0)/3" }))
    }

    public func check(_ simulation: Simulation, settled: Bool) async {
        let store = simulation.store
        func violate(_ message: String) { simulation.violate(message) }
        guard let log = try? await store.events(after: 0, limit: Int.max), let parked = try? await store.parkedEvents(subscription: nil) else {
            return violate("the store could not be read after the run")
        }
        let registry = registry
        func decode<E: DomainEvent>(_ type: E.Type, _ envelope: EventEnvelope) -> E? { try? registry.decode(type, from: envelope) }
        let watched = log.filter { Self.watched.contains($0.eventType) }
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
        for subscription in [Self.whole, Self.partitioned] {
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
            violate("\(Self.external) never delivered position \(envelope.position)")
        }
        if !parked.isEmpty {
            violate("parked events left: " + parked.map { "\($0.subscription)@\($0.position) \($0.status)" }.joined(separator: ", "))
        }
    }
}
