import Foundation
import Herald
import Logging
import Synchronization

/// A counter aggregate used by the conformance suite.
public struct TestCounter: AggregateRoot, Equatable {
    public static let streamType = "TestCounter"
    public let id: String
    public var value: Int = 0
    public var pendingEvents = PendingEvents()

    public init(id: String) { self.id = id }

    public mutating func increment(by amount: Int = 1) {
        value += amount
        record(TestIncremented(counterID: id, amount: amount, value: value))
    }
}

/// The event ``TestCounter`` records.
public struct TestIncremented: DomainEvent, Equatable {
    public static let eventType = "test.Incremented"
    public var counterID: String
    public var amount: Int
    public var value: Int
    public init(counterID: String, amount: Int, value: Int) {
        self.counterID = counterID
        self.amount = amount
        self.value = value
    }
}

/// A message the suite schedules.
public struct TestReminder: DomainEvent, Equatable {
    public static let eventType = "test.Reminder"
    public var note: String
    public init(note: String) { self.note = note }
}

/// Records what handlers saw, safely across tasks.
public final class DeliveryLog: Sendable {
    private let entries = Mutex<[EventEnvelope]>([])
    public init() {}
    public func append(_ event: EventEnvelope) { entries.withLock { $0.append(event) } }
    public var all: [EventEnvelope] { entries.withLock { $0 } }
    public func versions(of stream: StreamID) -> [Int64] { all.filter { $0.stream == stream }.map(\.streamVersion) }
    public func count(where predicate: (EventEnvelope) -> Bool) -> Int { all.count(where: predicate) }
}

/// A failure of a conformance check, with what was expected and found.
public struct ConformanceFailure: Error, CustomStringConvertible {
    public var description: String
    public var location: String
}

func check(
    _ condition: @autoclosure () throws -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) throws {
    guard try condition() else { throw ConformanceFailure(description: message(), location: "\(file):\(line)") }
}

func checkEqual<T: Equatable>(_ actual: T, _ expected: T, _ what: String, file: StaticString = #fileID, line: UInt = #line) throws {
    try check(actual == expected, "\(what): expected \(expected), got \(actual)", file: file, line: line)
}

/// `value`, or a failure naming `what` when the store gave `nil` (a wrong `nil` is the
/// store's failure, reported, never a crash of the suite).
func required<T>(_ value: T?, _ what: String, file: StaticString = #fileID, line: UInt = #line) throws -> T {
    guard let value else { throw ConformanceFailure(description: "\(what): expected a value, got nil", location: "\(file):\(line)") }
    return value
}

/// Expects `body` to throw an error of type `E` and returns it.
func checkThrows<E: Error, T>(_ type: E.Type, _ what: String, file: StaticString = #fileID, line: UInt = #line,
                              _ body: () async throws -> T) async throws -> E {
    do {
        _ = try await body()
    } catch let error as E {
        return error
    } catch {
        throw ConformanceFailure(description: "\(what): expected \(E.self), got \(error)", location: "\(file):\(line)")
    }
    throw ConformanceFailure(description: "\(what): expected \(E.self), nothing was thrown", location: "\(file):\(line)")
}

/// An engine on a fresh store, with a manual clock and a seeded random source.
struct Harness {
    let store: any EventStore
    let clock: ManualClock
    let engine: HeraldEngine

    init(_ makeStore: StoreFactory, registry extra: (inout EventRegistry) -> Void = { _ in }) async throws {
        store = try await makeStore()
        clock = ManualClock()
        var registry = EventRegistry()
        registry.register(TestIncremented.self)
        registry.register(TestReminder.self)
        extra(&registry)
        engine = HeraldEngine(
            store: store, registry: registry, clock: clock, random: SeededRandomSource(seed: 42),
            logger: Logger(label: "herald.conformance", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// The log from the start, read as a subscriber reads it, once it holds `count` events:
    /// a store may hold back committed events while older transactions elsewhere on its
    /// server still run (PostgreSQL's gap-safe reads), so one read right after a commit may
    /// come back short. Gives up after 30 s (a hang guard, not a speed claim).
    func log(holding count: Int) async throws -> [EventEnvelope] {
        let deadline = Date().addingTimeInterval(30)
        while true {
            var events: [EventEnvelope] = []
            try await store.scanLog { events += $0 }
            if events.count >= count || Date() > deadline { return events }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The head, read until it reaches `position` (the last commit this check made), for the
    /// same reason as ``log(holding:)``; after 30 s whatever it shows.
    func head(reaching position: Int64) async throws -> Int64 {
        let deadline = Date().addingTimeInterval(30)
        while true {
            let head = try await store.headPosition()
            if head >= position || Date() > deadline { return head }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Commits `count` increments of each counter, interleaving the counters.
    @discardableResult
    func increment(_ ids: [String], times count: Int) async throws -> [EventEnvelope] {
        var all: [EventEnvelope] = []
        for _ in 0..<count {
            for id in ids {
                let work = engine.unitOfWork()
                var counter = try await work.load(TestCounter.self, id: id) ?? TestCounter(id: id)
                counter.increment()
                try work.save(&counter)
                all += try await work.commit()
            }
        }
        return all
    }

    /// A subscription logging every delivery, failing while `fails` says so.
    func logging(
        _ name: String, into log: DeliveryLog, policy: RetryPolicy = .default, batchSize: Int = 16,
        fails: @escaping @Sendable (Delivery) throws -> Void = { _ in }
    ) -> Subscription {
        Subscription(name: name, retryPolicy: policy, batchSize: batchSize, handler: .transactional { delivery, _ in
            try fails(delivery)
            log.append(delivery.envelope)
        })
    }

    static func counter(_ id: String) -> StreamID { StreamID(type: TestCounter.streamType, id: id) }
}

struct InjectedFailure: Error, CustomStringConvertible {
    var description: String
}

/// Counts calls per key, across tasks.
final class CallCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    @discardableResult
    func increment(_ key: String) -> Int { counts.withLock { $0[key, default: 0] += 1; return $0[key]! } }
    func count(_ key: String) -> Int { counts.withLock { $0[key, default: 0] } }
}

/// A boolean shared across tasks.
final class Switch: Sendable {
    private let state = Mutex(false)
    var isOn: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}

/// Makes `parties` tasks meet: each ``arrive(_:)`` returns once all of them have arrived,
/// so a check can hold two workers at the same step. Throws after 30 s (a hang guard for a
/// store that serialises what should run side by side, not a speed claim).
final class Rendezvous: Sendable {
    private let arrived = Mutex(0)
    let parties: Int

    init(parties: Int) { self.parties = parties }

    func arrive(_ what: String) async throws {
        arrived.withLock { $0 += 1 }
        let deadline = Date().addingTimeInterval(30)
        while arrived.withLock({ $0 }) < parties {
            guard Date() < deadline else {
                throw ConformanceFailure(description: "\(what): only \(arrived.withLock { $0 }) of \(parties) arrived", location: #fileID)
            }
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}
