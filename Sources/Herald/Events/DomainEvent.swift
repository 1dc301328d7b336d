/// A fact that happened in the domain, stored in the event log and delivered to subscriptions.
///
/// The stored form of an event is its JSON encoding plus two names that must stay stable
/// for as long as stored events exist: ``eventType`` and ``schemaVersion``. Renaming the
/// Swift type is free; renaming ``eventType`` or changing the shape of the payload needs
/// an entry in the ``EventRegistry`` (a former name or an ``Upcaster``), so that events
/// stored by older code always decode.
///
/// ```swift
/// struct OrderPaid: DomainEvent {
///     static let eventType = "OrderPaid"
///     static let schemaVersion = 2
///     var orderID: String
///     var amount: Int64
/// }
/// ```
public protocol DomainEvent: Codable, Sendable {
    /// The stable name the event is stored under. Never reuse a name for another meaning.
    static var eventType: String { get }
    /// The version of the payload's shape. Starts at 1; raise it when the shape changes and
    /// register an ``Upcaster`` from the previous version.
    static var schemaVersion: Int { get }
}

extension DomainEvent {
    public static var schemaVersion: Int { 1 }
}

/// Identifies one event stream: the aggregate (or process) its events belong to.
public struct StreamID: Hashable, Sendable, CustomStringConvertible {
    /// The kind of stream, e.g. `"Order"`.
    public var type: String
    /// The identity within the kind, e.g. an order number.
    public var id: String

    public init(type: String, id: String) {
        self.type = type
        self.id = id
    }

    public var description: String { "\(type)/\(id)" }
}
