import Foundation
import Herald
import MallInventory
import MallOrdering
import MallPayment

/// What happened to one order, across contexts, in causation order: its own events and
/// those of its reservation and payments, and every event caused by any of them, directly
/// or not — each with the subscription whose handler recorded it (on which attempt, failing
/// since when), the subscriptions that handled it in turn, and any of its deliveries now
/// waiting for another attempt or dead.
///
/// Read from the log, with no index of its own: from the order's first event forward to the
/// head (causes come before their effects), at most ``Mall/timelineScanLimit`` events, so
/// an old order in a busy shop costs a longer scan but never unbounded memory. A handler
/// that records nothing (a refund sent to the gateway, say) leaves no trace in the log; the
/// spans this node still keeps (``W3CTracer``) fill in such handlings of recent events, and
/// failures show while they are parked.
public struct OrderTimeline: Sendable {
    /// A handler's call, as the events it recorded say (``UnitOfWork/HandlingMetadata``).
    public struct Handling: Sendable, Hashable {
        public var subscription: String
        public var attempt: Int
        /// When what it recorded was committed.
        public var at: Date
        /// When the handled event first failed, when it had (a retry or a replayed dead letter).
        public var failingSince: Date?
    }

    /// A delivery of an event that has not succeeded yet.
    public struct Problem: Sendable, Hashable {
        public var subscription: String
        /// `retrying` or `dead`.
        public var status: String
        public var attempts: Int
        public var lastError: String?
        public var nextAttemptAt: Date?
    }

    public struct Entry: Sendable {
        public var event: EventEnvelope
        /// How many causes above it are in the timeline (0: it started a chain here).
        public var depth: Int
        /// The handler that recorded it; `nil` for an event a request or a command recorded.
        public var recordedBy: Handling?
        /// The subscriptions whose handlers handled it: those that recorded something, and
        /// those this node's spans show.
        public var handledBy: [Handling]
        /// Its deliveries not yet done.
        public var problems: [Problem]
    }

    public var orderID: String
    public var entries: [Entry]
    /// Events read from the log to find them.
    public var scanned: Int
    /// Whether the scan stopped at ``Mall/timelineScanLimit`` before the head.
    public var truncated: Bool
}

extension Mall {
    /// Events a timeline reads at most.
    public static let timelineScanLimit = 1_000_000

    /// The order's timeline; `nil` when the log holds no event of it (no such order, or
    /// its events were pruned).
    public func timeline(orderID: String, scanLimit: Int = Mall.timelineScanLimit) async throws -> OrderTimeline? {
        let store = engine.store
        guard let first = try await store.firstPosition(of: StreamID(type: Order.streamType, id: orderID)) else { return nil }
        let own: Set<StreamID> = [StreamID(type: Order.streamType, id: orderID), StreamID(type: Reservation.streamType, id: orderID)]
        var included: [EventEnvelope] = [], ids: Set<UUID> = []
        var position = first - 1, scanned = 0
        while scanned < scanLimit {
            let batch = try await store.events(after: position, limit: min(1000, scanLimit - scanned))
            guard let last = batch.last else { break }
            scanned += batch.count
            position = last.position
            for event in batch where own.contains(event.stream) || event.causationID.map(ids.contains) == true || Self.isPayment(event, of: orderID) {
                included.append(event)
                ids.insert(event.eventID)
            }
        }
        let parked = try await store.parkedEvents(subscription: nil).filter { ids.contains($0.eventID) }
        let truncated = scanned >= scanLimit ? try await store.headPosition() > position : false
        return OrderTimeline(
            orderID: orderID, entries: Self.causationOrder(included, parked: parked, spans: tracedHandlings(of: ids)), scanned: scanned,
            truncated: truncated)
    }

    /// The successful handler calls of these events among the spans this node keeps.
    private func tracedHandlings(of events: Set<UUID>) -> [UUID: [OrderTimeline.Handling]] {
        guard let tracer else { return [:] }
        var handlings: [UUID: [OrderTimeline.Handling]] = [:]
        for span in tracer.ring.all where span.name == "herald.handle" && span.error == nil {
            guard let id = span.attributes["herald.event_id"].flatMap(UUID.init(uuidString:)), events.contains(id),
                  let subscription = span.attributes["herald.subscription"] else { continue }
            handlings[id, default: []].append(OrderTimeline.Handling(
                subscription: subscription, attempt: span.attributes["herald.attempt"].flatMap(Int.init) ?? 1,
                at: Date(timeIntervalSince1970: Double(span.endNanoseconds) / 1e9), failingSince: nil))
        }
        return handlings
    }

    /// Whether `event` is one of a payment of the order (its payload names the order).
    private static func isPayment(_ event: EventEnvelope, of orderID: String) -> Bool {
        guard event.stream.type == Payment.streamType,
              let object = try? JSONSerialization.jsonObject(with: event.payload) as? [String: Any]
        else { return false }
        return object["orderID"] as? String == orderID
    }

    /// The events as a forest: each under its cause when the cause is there, children by
    /// position; with who recorded each and who handled it.
    private static func causationOrder(
        _ events: [EventEnvelope], parked: [ParkedEvent], spans: [UUID: [OrderTimeline.Handling]]
    ) -> [OrderTimeline.Entry] {
        let ids = Set(events.map(\.eventID))
        var children: [UUID: [EventEnvelope]] = [:]
        for event in events { if let cause = event.causationID, ids.contains(cause) { children[cause, default: []].append(event) } }
        let problems = Dictionary(grouping: parked, by: \.eventID)
        var entries: [OrderTimeline.Entry] = []
        func visit(_ event: EventEnvelope, depth: Int) {
            let caused = children[event.eventID] ?? []
            var handledBy: [String: OrderTimeline.Handling] = [:]
            for child in caused { if let handling = handling(child), handledBy[handling.subscription] == nil { handledBy[handling.subscription] = handling } }
            for handling in spans[event.eventID] ?? [] where handledBy[handling.subscription] == nil { handledBy[handling.subscription] = handling }
            entries.append(OrderTimeline.Entry(
                event: event, depth: depth, recordedBy: handling(event),
                handledBy: handledBy.values.sorted { ($0.at, $0.subscription) < ($1.at, $1.subscription) },
                problems: (problems[event.eventID] ?? []).map {
                    OrderTimeline.Problem(
                        subscription: $0.subscription, status: $0.status.rawValue, attempts: $0.attempts, lastError: $0.lastError,
                        nextAttemptAt: $0.nextAttemptAt)
                }.sorted { $0.subscription < $1.subscription }))
            for child in caused { visit(child, depth: depth + 1) }
        }
        for event in events where !(event.causationID.map(ids.contains) ?? false) { visit(event, depth: 0) }
        return entries
    }

    /// Who recorded `event`, when a handler did.
    private static func handling(_ event: EventEnvelope) -> OrderTimeline.Handling? {
        let keys = UnitOfWork.HandlingMetadata.self
        guard let subscription = event.metadata[keys.subscription] else { return nil }
        return OrderTimeline.Handling(
            subscription: subscription, attempt: event.metadata[keys.attempt].flatMap(Int.init) ?? 1, at: event.recordedAt,
            failingSince: event.metadata[keys.failingSince].flatMap { try? Date($0, strategy: .iso8601) })
    }
}
