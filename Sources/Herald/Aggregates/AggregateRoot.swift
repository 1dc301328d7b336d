/// A state-stored aggregate: a consistency boundary whose state is saved as one JSON
/// document with a version, and whose methods record the events of each change.
///
/// Methods enforce the aggregate's invariants and call ``record(_:metadata:)``; a
/// ``UnitOfWork`` saves the new state and the recorded events in one transaction.
/// ``pendingEvents`` is never part of the stored document.
///
/// ```swift
/// struct Cart: AggregateRoot {
///     static let streamType = "Cart"
///     let id: String
///     var lines: [String: Int] = [:]
///     var pendingEvents = PendingEvents()
///
///     mutating func add(sku: String, quantity: Int) throws {
///         guard quantity > 0 else { throw CartError.quantityNotPositive }
///         lines[sku, default: 0] += quantity
///         record(CartLineAdded(sku: sku, quantity: quantity))
///     }
/// }
/// ```
public protocol AggregateRoot: Codable, Sendable {
    /// The stream type of every aggregate of this kind, e.g. `"Order"`. Keep it stable.
    static var streamType: String { get }
    /// The aggregate's identity within its type.
    var id: String { get }
    /// Events recorded since the aggregate was loaded; emptied when it is saved.
    var pendingEvents: PendingEvents { get set }
}

extension AggregateRoot {
    /// The stream this aggregate's events are appended to.
    public var stream: StreamID { StreamID(type: Self.streamType, id: id) }

    /// Records an event of the change being made; it is stored when the aggregate is saved.
    public mutating func record<E: DomainEvent>(_ event: E, metadata: [String: String] = [:]) {
        pendingEvents.events.append(PendingEvent(event: event, metadata: metadata))
    }
}

/// One recorded, not yet stored, event.
public struct PendingEvent: Sendable {
    public var event: any DomainEvent
    public var metadata: [String: String]
}

/// The events an aggregate recorded and has not saved yet.
///
/// Encodes to nothing and decodes as empty, so an aggregate's synthesized `Codable`
/// conformance leaves it out of the stored document. Two values are always equal: pending
/// events are not part of an aggregate's state.
public struct PendingEvents: Sendable, Codable, Hashable {
    public internal(set) var events: [PendingEvent] = []

    public init() {}
    public init(from decoder: any Decoder) throws {}
    public func encode(to encoder: any Encoder) throws {}

    public var isEmpty: Bool { events.isEmpty }
    public var count: Int { events.count }

    public static func == (lhs: PendingEvents, rhs: PendingEvents) -> Bool { true }
    public func hash(into hasher: inout Hasher) {}
}

extension KeyedEncodingContainer {
    /// Leaves ``PendingEvents`` out of synthesized encodings.
    public mutating func encode(_ value: PendingEvents, forKey key: Key) throws {}
}

extension KeyedDecodingContainer {
    /// Decodes ``PendingEvents`` as empty, present in the document or not.
    public func decode(_ type: PendingEvents.Type, forKey key: Key) throws -> PendingEvents {
        PendingEvents()
    }
}

/// A stored aggregate document that does not decode as its type.
public struct AggregateDecodingError: Error, CustomStringConvertible, Sendable {
    public var stream: StreamID
    public var version: Int64
    public var detail: String

    public var description: String {
        "cannot decode aggregate \(stream) at version \(version): \(detail)"
    }
}
