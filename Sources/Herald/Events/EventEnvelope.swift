import Foundation

/// A stored event with everything the log knows about it.
///
/// Envelopes are created by the store when a ``UnitOfWork`` commits; their ``position`` is
/// strictly increasing in commit order as readers see it, and ``streamVersion`` numbers
/// the events of one stream 1, 2, 3, … without gaps.
public struct EventEnvelope: Sendable, Hashable {
    /// Unique id of the event; the idempotency key handed to external handlers.
    public var eventID: UUID
    /// The stream (aggregate) the event belongs to.
    public var stream: StreamID
    /// 1-based, gap-free sequence number of the event within its stream.
    public var streamVersion: Int64
    /// Global position in the log, strictly increasing in commit order.
    public var position: Int64
    /// ``DomainEvent/eventType`` of the payload as it was stored.
    public var eventType: String
    /// ``DomainEvent/schemaVersion`` of the payload as it was stored.
    public var schemaVersion: Int
    /// The JSON payload as stored (before any upcasting).
    public var payload: Data
    /// When the change that produced the event happened (the unit of work's clock).
    public var occurredAt: Date
    /// When the event was committed to the log.
    public var recordedAt: Date
    /// The event that caused this one, when it was produced by a handler.
    public var causationID: UUID?
    /// The first event (or request) of the chain this event belongs to.
    public var correlationID: UUID?
    /// W3C `traceparent` of the trace the event was produced in.
    public var traceparent: String?
    /// Free-form string metadata (tenant, user agent, …).
    public var metadata: [String: String]

    public init(
        eventID: UUID, stream: StreamID, streamVersion: Int64, position: Int64,
        eventType: String, schemaVersion: Int, payload: Data,
        occurredAt: Date, recordedAt: Date,
        causationID: UUID? = nil, correlationID: UUID? = nil, traceparent: String? = nil,
        metadata: [String: String] = [:]
    ) {
        self.eventID = eventID
        self.stream = stream
        self.streamVersion = streamVersion
        self.position = position
        self.eventType = eventType
        self.schemaVersion = schemaVersion
        self.payload = payload
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
        self.causationID = causationID
        self.correlationID = correlationID
        self.traceparent = traceparent
        self.metadata = metadata
    }
}

/// An event on its way into the log: everything but what the store assigns
/// (stream version, position, recorded-at).
public struct NewEvent: Sendable, Hashable {
    public var eventID: UUID
    public var stream: StreamID
    public var eventType: String
    public var schemaVersion: Int
    public var payload: Data
    public var occurredAt: Date
    public var causationID: UUID?
    public var correlationID: UUID?
    public var traceparent: String?
    public var metadata: [String: String]

    public init(
        eventID: UUID, stream: StreamID, eventType: String, schemaVersion: Int, payload: Data,
        occurredAt: Date, causationID: UUID? = nil, correlationID: UUID? = nil,
        traceparent: String? = nil, metadata: [String: String] = [:]
    ) {
        self.eventID = eventID
        self.stream = stream
        self.eventType = eventType
        self.schemaVersion = schemaVersion
        self.payload = payload
        self.occurredAt = occurredAt
        self.causationID = causationID
        self.correlationID = correlationID
        self.traceparent = traceparent
        self.metadata = metadata
    }

    /// The envelope this event becomes once the store has placed it in the log.
    public func recorded(streamVersion: Int64, position: Int64, at recordedAt: Date) -> EventEnvelope {
        EventEnvelope(
            eventID: eventID, stream: stream, streamVersion: streamVersion, position: position,
            eventType: eventType, schemaVersion: schemaVersion, payload: payload,
            occurredAt: occurredAt, recordedAt: recordedAt, causationID: causationID,
            correlationID: correlationID, traceparent: traceparent, metadata: metadata
        )
    }
}

extension [EventEnvelope] {
    /// From the first envelope's position to the last one's (`nil` when there are none): what
    /// a store passes to ``CommitSignal/notify(committed:at:)`` when the events of one commit
    /// take consecutive positions.
    public var positionRange: ClosedRange<Int64>? { first.map { $0.position...self[count - 1].position } }
}
