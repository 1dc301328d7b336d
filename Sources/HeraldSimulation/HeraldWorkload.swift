import Foundation
import Herald

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

enum HeraldWorkload {
    static let whole = "sim.effects"
    static let partitioned = "sim.partitioned"
    static let external = "sim.external"
    static let watched: Set<String> = [SimDeposited.eventType, SimReminderDue.eventType]

    static var registry: EventRegistry {
        var registry = EventRegistry()
        registry.register(SimDeposited.self)
        registry.register(SimReminderDue.self)
        registry.register(SimEffect.self)
        return registry
    }

    /// The subscriptions every node runs. Small batches and short back-off: more commits,
    /// more interleavings per simulated second.
    static func subscriptions(cluster: Cluster, ledger: ExternalLedger) -> [Subscription] {
        let retries = try! RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(50), maxDelay: .seconds(2))
        func effect(_ name: String) -> Subscription.Handler {
            .transactional { delivery, work in
                if cluster.strikes(cluster.faultRates.handlerFailure) {
                    cluster.count("handler failure")
                    throw SimHandlerFailure()
                }
                let envelope = delivery.envelope
                try work.append(
                    SimEffect(subscription: name, source: envelope.eventID, stream: envelope.stream.id, version: envelope.streamVersion),
                    to: StreamID(type: "SimEffects", id: name))
            }
        }
        return [
            Subscription(name: whole, eventTypes: watched, retryPolicy: retries, batchSize: 4, handler: effect(whole)),
            Subscription(
                name: partitioned, eventTypes: watched, retryPolicy: retries, batchSize: 4,
                partitioning: Partitioning(count: 3, leaseDuration: .seconds(10)), handler: effect(partitioned)),
            Subscription(name: external, eventTypes: watched, retryPolicy: retries, batchSize: 4, handler: .external(inbox: true) { delivery in
                if cluster.strikes(cluster.faultRates.handlerFailure) {
                    cluster.count("handler failure")
                    throw SimHandlerFailure()
                }
                ledger.deliver(delivery.envelope)
            }),
        ]
    }
}
