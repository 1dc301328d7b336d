import Foundation
import Synchronization

/// Turns a stored payload of one schema version into the next version's shape.
///
/// ```swift
/// // v1 stored `price` in whole euros; v2 stores `priceMinor` in cents.
/// Upcaster(fromVersion: 1) { payload in
///     var payload = payload
///     if case .number(let euros)? = payload["price"] { payload["priceMinor"] = .number(euros * 100) }
///     payload["price"] = nil
///     return payload
/// }
/// ```
public struct Upcaster: Sendable {
    /// The version this upcaster reads; it produces version `fromVersion + 1`.
    public let fromVersion: Int
    let transform: @Sendable (JSONValue) throws -> JSONValue

    public init(fromVersion: Int, _ transform: @escaping @Sendable (JSONValue) throws -> JSONValue) {
        self.fromVersion = fromVersion
        self.transform = transform
    }
}

/// A stored event that cannot be turned into a ``DomainEvent``.
///
/// Always names the stored event type and schema version, and says why.
public struct EventDecodingError: Error, CustomStringConvertible, Sendable, Hashable {
    public enum Reason: Sendable, Hashable {
        /// No type is registered under this event type name.
        case unknownEventType
        /// The stored version is newer than the registered type's ``DomainEvent/schemaVersion``.
        case versionNewerThanCode(supported: Int)
        /// No upcaster is registered from this version to the next.
        case missingUpcaster(fromVersion: Int)
        /// The (upcast) payload does not match the type's shape.
        case malformedPayload(String)
    }

    public var eventType: String
    public var schemaVersion: Int
    public var position: Int64?
    public var reason: Reason

    public var description: String {
        let at = position.map { " at position \($0)" } ?? ""
        let what = "cannot decode event \(eventType) v\(schemaVersion)\(at)"
        switch reason {
        case .unknownEventType:
            return "\(what): no event type of that name is registered"
        case .versionNewerThanCode(let supported):
            return "\(what): this code supports up to v\(supported)"
        case .missingUpcaster(let version):
            return "\(what): no upcaster registered from v\(version) to v\(version + 1)"
        case .malformedPayload(let detail):
            return "\(what): \(detail)"
        }
    }
}

/// Knows every event type an application reads, under its current and former names,
/// and how to upcast old payloads.
///
/// ```swift
/// var registry = EventRegistry()
/// registry.register(OrderPaid.self, formerNames: ["PaymentReceived"],
///                   upcasters: [Upcaster(fromVersion: 1) { $0 /* … */ }])
/// let event = try registry.decode(envelope)   // any DomainEvent
/// ```
public struct EventRegistry: Sendable {
    struct Entry: Sendable {
        let eventType: String
        let schemaVersion: Int
        let upcasters: [Int: Upcaster]
        let decode: @Sendable (Data) throws -> any DomainEvent
    }

    private var entries: [String: Entry] = [:]
    /// Events this registry decoded lately: every subscription of a process that takes an
    /// event decodes it through the same registry (five decode each new order in Mall), and all
    /// but the first get the value decoded already. Replaced at every registration, so
    /// registries that differ never share it.
    private var recent = RecentlyDecoded()

    public init() {}

    /// Registers `type` under its ``DomainEvent/eventType`` and every name in `formerNames`.
    ///
    /// - Parameter type: the event type, decoded for its name.
    /// - Parameter formerNames: names it was stored under before a rename.
    /// - Parameter upcasters: one per old version, each lifting a payload by one version.
    public mutating func register<E: DomainEvent>(
        _ type: E.Type, formerNames: [String] = [], upcasters: [Upcaster] = []
    ) {
        let entry = Entry(
            eventType: E.eventType,
            schemaVersion: E.schemaVersion,
            upcasters: Dictionary(upcasters.map { ($0.fromVersion, $0) }, uniquingKeysWith: { _, last in last }),
            decode: { data in try HeraldJSON.decode(E.self, from: data) }
        )
        for name in [E.eventType] + formerNames {
            entries[name] = entry
        }
        recent = RecentlyDecoded()
    }

    /// Whether an event type name (current or former) is registered.
    public func knows(_ eventType: String) -> Bool { entries[eventType] != nil }

    /// Decodes a stored event into its registered type, upcasting old payloads first.
    ///
    /// - Throws: ``EventDecodingError`` naming the stored type and version.
    public func decode(_ envelope: EventEnvelope) throws -> any DomainEvent {
        if let event = recent.event(for: envelope) { return event }
        let (entry, payload) = try upcastPayload(of: envelope)
        do {
            let event = try entry.decode(payload)
            recent.keep(event, for: envelope)
            return event
        } catch {
            throw EventDecodingError(
                eventType: envelope.eventType, schemaVersion: envelope.schemaVersion,
                position: envelope.position, reason: .malformedPayload("\(error)"))
        }
    }

    /// Decodes a stored event as `type`.
    ///
    /// - Throws: ``EventDecodingError`` when the envelope holds another type or cannot be decoded.
    public func decode<E: DomainEvent>(_ type: E.Type, from envelope: EventEnvelope) throws -> E {
        let event = try decode(envelope)
        guard let typed = event as? E else {
            throw EventDecodingError(
                eventType: envelope.eventType, schemaVersion: envelope.schemaVersion,
                position: envelope.position,
                reason: .malformedPayload("registered as \(Swift.type(of: event)), not \(E.self)"))
        }
        return typed
    }

    private func upcastPayload(of envelope: EventEnvelope) throws -> (Entry, Data) {
        func failure(_ reason: EventDecodingError.Reason) -> EventDecodingError {
            EventDecodingError(
                eventType: envelope.eventType, schemaVersion: envelope.schemaVersion,
                position: envelope.position, reason: reason)
        }
        guard let entry = entries[envelope.eventType] else { throw failure(.unknownEventType) }
        if envelope.schemaVersion == entry.schemaVersion { return (entry, envelope.payload) }
        guard envelope.schemaVersion < entry.schemaVersion else {
            throw failure(.versionNewerThanCode(supported: entry.schemaVersion))
        }
        var json: JSONValue
        do {
            json = try HeraldJSON.decode(JSONValue.self, from: envelope.payload)
        } catch {
            throw failure(.malformedPayload("payload is not JSON: \(error)"))
        }
        for version in envelope.schemaVersion..<entry.schemaVersion {
            guard let upcaster = entry.upcasters[version] else { throw failure(.missingUpcaster(fromVersion: version)) }
            do {
                json = try upcaster.transform(json)
            } catch {
                throw failure(.malformedPayload("upcaster from v\(version) failed: \(error)"))
            }
        }
        return (entry, try HeraldJSON.encode(json))
    }
}

/// The last events an ``EventRegistry`` decoded, by event id: a bounded ring. A hit needs
/// the same stored type, version and payload bytes as the decoded one, so it returns what
/// decoding again would, whichever store the envelope came from.
final class RecentlyDecoded: Sendable {
    private struct Decoded {
        var envelope: EventEnvelope
        var event: any DomainEvent
    }

    private struct Ring {
        var byID: [UUID: Decoded] = [:]
        var order: [UUID] = []
        var next = 0
    }

    static let capacity = 1024
    private let ring = Mutex(Ring())

    func event(for envelope: EventEnvelope) -> (any DomainEvent)? {
        ring.withLock { ring in
            guard let kept = ring.byID[envelope.eventID], kept.envelope.eventType == envelope.eventType,
                  kept.envelope.schemaVersion == envelope.schemaVersion, kept.envelope.payload == envelope.payload else { return nil }
            return kept.event
        }
    }

    func keep(_ event: any DomainEvent, for envelope: EventEnvelope) {
        ring.withLock { ring in
            guard ring.byID[envelope.eventID] == nil else { return }
            if ring.order.count < Self.capacity {
                ring.order.append(envelope.eventID)
            } else {
                ring.byID[ring.order[ring.next]] = nil
                ring.order[ring.next] = envelope.eventID
                ring.next = (ring.next + 1) % Self.capacity
            }
            ring.byID[envelope.eventID] = Decoded(envelope: envelope, event: event)
        }
    }
}
