@_spi(Operations) import MallApplication
import Foundation
import Herald

/// What an operator is shown of the event machinery (the admin routes, the console, the
/// CLI): plain values, so that what shows them needs to know nothing of Herald.

/// An event a subscription gave up on, waiting for an operator to replay or discard it.
public struct DeadLetterView: Sendable, Hashable {
    public var subscription: String
    public var position: Int64
    public var eventID: UUID
    public var eventType: String
    /// The stream, written `Type/id`.
    public var stream: String
    public var attempts: Int
    public var lastError: String?
    /// Later events of the same stream held behind it for the same subscription.
    public var heldBehind: Int

    init(_ letter: DeadLetter) {
        (subscription, position, eventID, eventType) = (letter.subscription, letter.position, letter.parked.eventID, letter.parked.eventType)
        (stream, attempts, lastError, heldBehind) = (letter.parked.stream.description, letter.attempts, letter.lastError, letter.heldBehind)
    }
}

/// Which dead letters to list, replay or discard; a field left `nil` matches every letter.
public struct DeadLetterSelection: Sendable, Hashable {
    public var subscription: String?
    public var position: Int64?
    public var eventType: String?

    public init(subscription: String? = nil, position: Int64? = nil, eventType: String? = nil) {
        (self.subscription, self.position, self.eventType) = (subscription, position, eventType)
    }

    /// Every dead letter of every subscription.
    public static let all = DeadLetterSelection()

    var filter: DeadLetters.Filter { DeadLetters.Filter(subscription: subscription, position: position, eventType: eventType) }
}

/// Where one subscription, partition or projection stands.
public struct SubscriptionStatusView: Sendable, Hashable {
    /// Its checkpoint's name (`ordering#0/4` for a partition, `catalog@g1` for a projection).
    public var name: String
    public var checkpoint: Int64
    /// Events recorded after the checkpoint.
    public var lag: Int64
    public var retrying: Int
    public var dead: Int
    /// Events waiting behind an earlier one of their stream.
    public var held: Int
    /// The node holding a partition's lease.
    public var node: String?

    init(_ status: SubscriptionStatus) {
        (name, checkpoint, lag, retrying) = (status.name, status.checkpoint, status.lag, status.retrying)
        (dead, held, node) = (status.dead, status.held, status.node)
    }
}

/// An event a subscription holds back: failed and retrying, dead, or held behind another.
public struct ParkedEventView: Sendable, Hashable {
    public var subscription: String
    public var position: Int64
    public var eventType: String
    /// The stream, written `Type/id`.
    public var stream: String
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var lastFailedAt: Date?
    public var lastError: String?

    public enum Status: String, Sendable, Hashable {
        /// Failed, waiting for its next attempt.
        case retrying
        /// Failed its last allowed attempt: a dead letter.
        case dead
        /// Waits behind an earlier event of the same stream.
        case held
    }

    init(_ parked: ParkedEvent) {
        (subscription, position, eventType, stream) = (parked.subscription, parked.position, parked.eventType, parked.stream.description)
        status = switch parked.status {
        case .retrying: .retrying
        case .dead: .dead
        case .held: .held
        }
        (attempts, nextAttemptAt, lastFailedAt, lastError) = (parked.attempts, parked.nextAttemptAt, parked.lastFailedAt, parked.lastError)
    }
}

/// One event of the log as stored.
public struct LoggedEvent: Sendable, Hashable {
    public var position: Int64
    public var eventID: UUID
    public var eventType: String
    public var schemaVersion: Int
    public var streamType: String
    /// The stream, written `Type/id`.
    public var stream: String
    public var streamVersion: Int64
    public var occurredAt: Date
    public var recordedAt: Date
    public var correlationID: UUID?
    /// The payload's JSON as stored.
    public var payload: Data

    init(_ envelope: EventEnvelope) {
        (position, eventID, eventType, schemaVersion) = (envelope.position, envelope.eventID, envelope.eventType, envelope.schemaVersion)
        (streamType, stream, streamVersion) = (envelope.stream.type, envelope.stream.description, envelope.streamVersion)
        (occurredAt, recordedAt, correlationID, payload) = (envelope.occurredAt, envelope.recordedAt, envelope.correlationID, envelope.payload)
    }
}
