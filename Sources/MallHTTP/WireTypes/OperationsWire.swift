import Herald
import MallApp

struct DeadLetterBody: Encodable {
    var subscription: String
    var position: Int64
    var eventId: String
    var eventType: String
    var stream: String
    var attempts: Int
    var lastError: String?
    var heldBehind: Int

    init(_ letter: DeadLetter) {
        subscription = letter.subscription
        position = letter.position
        eventId = letter.parked.eventID.uuidString
        eventType = letter.parked.eventType
        stream = letter.parked.stream.description
        attempts = letter.attempts
        lastError = letter.lastError
        heldBehind = letter.heldBehind
    }
}

/// Selects dead letters to replay or discard; no field selects all.
struct DeadLetterSelection: Decodable {
    var subscription: String?
    var position: Int64?
    var eventType: String?

    var filter: DeadLetters.Filter { DeadLetters.Filter(subscription: subscription, position: position, eventType: eventType) }
}

/// Where one subscription or projection stands.
struct SubscriptionStatusBody: Encodable {
    var name: String
    var checkpoint: Int64
    var lag: Int64
    var retrying: Int
    var dead: Int
    var held: Int

    init(_ status: SubscriptionStatus) {
        (name, checkpoint, lag) = (status.name, status.checkpoint, status.lag)
        (retrying, dead, held) = (status.retrying, status.dead, status.held)
    }
}

struct ReconciliationBody: Encodable {
    struct Drift: Encodable { var rule: String; var subject: String; var detail: String }

    var orders: Int
    var stocks: Int
    var wallets: Int
    var payments: Int
    var drifts: [Drift]
    var lag: [String: Int64]

    init(_ report: ReconciliationReport) {
        (orders, stocks, wallets, payments) = (report.orders, report.stocks, report.wallets, report.payments)
        drifts = report.drifts.map { Drift(rule: $0.rule, subject: $0.subject, detail: $0.detail) }
        lag = report.lag
    }
}
