import Foundation

/// An event a subscription could not handle yet, or that waits behind one that failed.
///
/// Per-stream order is kept by parking: while the first parked event of a stream is
/// retrying or dead for a subscription, every later event of that stream is parked as
/// ``Status/held`` for it, and released in order once the first one is handled or discarded.
public struct ParkedEvent: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, CaseIterable {
        /// Failed, waiting for its next attempt at ``ParkedEvent/nextAttemptAt``.
        case retrying
        /// Failed its last allowed attempt: a dead letter, waiting for replay or discard.
        case dead
        /// Waits behind an earlier event of the same stream.
        case held
    }

    public var subscription: String
    public var position: Int64
    public var eventID: UUID
    public var stream: StreamID
    public var eventType: String
    public var status: Status
    /// Failed attempts so far.
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var firstFailedAt: Date?
    public var lastFailedAt: Date?
    public var lastError: String?

    public init(
        subscription: String, position: Int64, eventID: UUID, stream: StreamID, eventType: String,
        status: Status, attempts: Int = 0, nextAttemptAt: Date? = nil,
        firstFailedAt: Date? = nil, lastFailedAt: Date? = nil, lastError: String? = nil
    ) {
        self.subscription = subscription
        self.position = position
        self.eventID = eventID
        self.stream = stream
        self.eventType = eventType
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.firstFailedAt = firstFailedAt
        self.lastFailedAt = lastFailedAt
        self.lastError = lastError
    }

    /// What this entry looks like to a compare-and-set (see ``SubscriptionProgress/expectedParked``).
    public var seen: Seen { Seen(position: position, status: status, attempts: attempts) }

    /// A held entry for `event`.
    public init(holding event: EventEnvelope, for subscription: String) {
        self.init(
            subscription: subscription, position: event.position, eventID: event.eventID,
            stream: event.stream, eventType: event.eventType, status: .held)
    }
}

extension ParkedEvent {
    /// A parked event as its reader saw it: a commit that acts on it carries this, and the
    /// store refuses the commit unless the stored row still has this status and attempts.
    ///
    /// Status and attempts change with every park, retry, replay and discard, so two
    /// workers (or a worker and an operator's replay) that read the same row cannot both act
    /// on it: the second commit fails with ``StoreError/parkedEventChanged(subscription:position:)``.
    public struct Seen: Sendable, Hashable {
        public var position: Int64
        public var status: Status
        public var attempts: Int

        public init(position: Int64, status: Status, attempts: Int) {
            self.position = position
            self.status = status
            self.attempts = attempts
        }
    }
}
