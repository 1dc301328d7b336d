@_spi(Operations) import MallApplication
import Foundation
import Herald
import Logging
import MallGateway
import MallKernel
import Synchronization

/// A fault a drill injects into the payment gateway (the fake one: through its knobs).
public enum DrillKind: String, Codable, Sendable, Hashable, CaseIterable {
    /// Every gateway call answered 503: payments cannot start, refunds wait.
    case gatewayDown = "gateway-down"
    /// Every gateway call answered after 3 s, past the client's 2 s timeout.
    case gatewaySlow = "gateway-slow"
    /// A share of the gateway calls (``FaultDrill/failingPercent``, half by default)
    /// answered 500: the refund subscriber fails that share.
    case gatewayFailing = "gateway-failing"
    /// Every payment's callback sent twice.
    case duplicateCallbacks = "duplicate-callbacks"
    /// Callbacks sent after the payment window: the deadline fires before the money arrives.
    case lateCallbacks = "late-callbacks"

    /// The knobs in force while `drill` (of this kind) runs.
    func knobs(_ drill: FaultDrill, paymentWindow: Duration) -> GatewayKnobs.Change {
        switch self {
        case .gatewayDown: GatewayKnobs.Change(outage: true)
        case .gatewaySlow: GatewayKnobs.Change(latencyMs: 3000)
        case .gatewayFailing: GatewayKnobs.Change(failureRate: Double(drill.failingPercent ?? FaultDrill.defaultFailingPercent) / 100)
        case .duplicateCallbacks: GatewayKnobs.Change(duplicateCallbacks: true)
        case .lateCallbacks: GatewayKnobs.Change(callbackDelayMs: Int(paymentWindow.timeInterval * 1000) + 2000)
        }
    }

    /// The same knobs back at the gateway's defaults: what every node puts back when the
    /// drill ends (not what it saw before: another node may have applied the drill first).
    var reverted: GatewayKnobs.Change {
        let normal = GatewayKnobs()
        return switch self {
        case .gatewayDown: GatewayKnobs.Change(outage: normal.outage)
        case .gatewaySlow: GatewayKnobs.Change(latencyMs: normal.latencyMs)
        case .gatewayFailing: GatewayKnobs.Change(failureRate: normal.failureRate)
        case .duplicateCallbacks: GatewayKnobs.Change(duplicateCallbacks: normal.duplicateCallbacks)
        case .lateCallbacks: GatewayKnobs.Change(callbackDelayMs: normal.callbackDelayMs)
        }
    }
}

/// One drill: what, from when to when, who started it and why.
public struct FaultDrill: Codable, Sendable, Hashable {
    public var kind: DrillKind
    public var startedAt: Date
    public var endsAt: Date
    public var by: String
    public var reason: String
    /// When it was stopped before its end, if it was.
    public var stoppedAt: Date?
    /// The share of gateway calls failing, in percent (`gateway-failing` only).
    public var failingPercent: Int?

    /// The share of a `gateway-failing` drill not given one.
    public static let defaultFailingPercent = 50

    public func isActive(at now: Date) -> Bool { stoppedAt == nil && now < endsAt }
}

/// The drills run so far (the latest ``historyLimit``), the last one perhaps still running.
struct DrillBook: AggregateRoot {
    static let streamType = "FaultDrills"
    static let mainID = "main"
    static let historyLimit = 50
    let id: String
    var drills: [FaultDrill] = []
    var pendingEvents = PendingEvents()
}

/// A drill was asked for while another runs.
public struct DrillAlreadyRunning: MallProblem, Hashable, Sendable {
    public var running: FaultDrill
    public var kind: ProblemKind { .conflict }
    public var field: String? { "kind" }
    public var description: String { "drill \(running.kind.rawValue) runs until \(running.endsAt.formatted(.iso8601)); stop it first" }
}

/// Fault drills: rehearsing an outage on the running shop, for a bounded time. One at a
/// time; each ends by itself. Every node's ``DrillRunner`` puts it in force within a second.
public struct DrillService: Sendable {
    let engine: HeraldEngine

    /// The longest drill: one left running by mistake must not become the outage.
    public static let maximumSeconds = 3600.0

    init(engine: HeraldEngine) { self.engine = engine }

    /// The announcement a start or stop sends, on which every node's drill follower wakes.
    public static let topic = "mall.drills"

    /// Starts a drill of `seconds`; a `gateway-failing` one fails `failingPercent` of the
    /// gateway's calls (``FaultDrill/defaultFailingPercent`` when `nil`).
    ///
    /// - Throws: ``InvalidInput`` naming the field, or ``DrillAlreadyRunning``.
    @discardableResult
    public func start(_ kind: DrillKind, seconds: Double, failingPercent: Int? = nil, by: String, reason: String) async throws -> FaultDrill {
        guard seconds.isFinite, seconds >= 1, seconds <= Self.maximumSeconds else {
            throw InvalidInput(field: "seconds", "1 ... \(Int(Self.maximumSeconds)) seconds, not \(seconds)")
        }
        if let failingPercent {
            guard kind == .gatewayFailing else { throw InvalidInput(field: "failingPercent", "only for a gateway-failing drill") }
            guard (1...100).contains(failingPercent) else { throw InvalidInput(field: "failingPercent", "an integer 1 ... 100, not \(failingPercent)") }
        }
        let by = try by.validated(field: "by", maxLength: 100)
        let reason = try reason.validated(field: "reason", maxLength: 500)
        let now = engine.clock.now()
        let drill = FaultDrill(
            kind: kind, startedAt: now, endsAt: now.addingTimeInterval(seconds), by: by, reason: reason,
            failingPercent: kind == .gatewayFailing ? failingPercent ?? FaultDrill.defaultFailingPercent : nil)
        try await engine.perform { work in
            var book = try await work.load(DrillBook.self, id: DrillBook.mainID) ?? DrillBook(id: DrillBook.mainID)
            if let last = book.drills.last, last.isActive(at: now) { throw DrillAlreadyRunning(running: last) }
            book.drills = Array((book.drills + [drill]).suffix(DrillBook.historyLimit))
            try work.save(&book)
        }
        await engine.announceChange(Self.topic)
        return drill
    }

    /// Stops the running drill now; `nil` when none runs.
    @discardableResult
    public func stop() async throws -> FaultDrill? {
        let now = engine.clock.now()
        let stopped = try await engine.perform { work -> FaultDrill? in
            guard var book = try await work.load(DrillBook.self, id: DrillBook.mainID), var last = book.drills.last, last.isActive(at: now) else { return nil }
            last.stoppedAt = now
            book.drills[book.drills.count - 1] = last
            try work.save(&book)
            return last
        }
        if stopped != nil { await engine.announceChange(Self.topic) }
        return stopped
    }

    /// The running drill, if any, and the latest ones, newest first.
    public func status() async throws -> (active: FaultDrill?, recent: [FaultDrill]) {
        let drills = try await engine.unitOfWork().load(DrillBook.self, id: DrillBook.mainID)?.drills ?? []
        let now = engine.clock.now()
        return (drills.last.flatMap { $0.isActive(at: now) ? $0 : nil }, drills.reversed())
    }
}

/// Puts the running drill in force on this node's gateway, and takes it back when it ends
/// (stopped, or its time is up): ``step()`` once a second.
public final class DrillRunner: Sendable {
    let drills: DrillService
    let target: (any GatewayKnobsControl)?
    let paymentWindow: Duration
    let logger: Logger
    /// The drill this runner put in force, and whether it could not (said once).
    private let state = Mutex<(applied: FaultDrill?, unable: Bool)>((nil, false))

    public init(drills: DrillService, target: (any GatewayKnobsControl)?, paymentWindow: Duration, logger: Logger) {
        self.drills = drills
        self.target = target
        self.paymentWindow = paymentWindow
        self.logger = logger
    }

    /// The kind of drill in force on this node now.
    public var applied: DrillKind? { state.withLock { $0.applied?.kind } }

    public func step() async throws {
        let active = try await drills.status().active
        let applied = state.withLock { $0.applied }
        // The same drill (by its start), not merely the same kind: a drill stopped and
        // another started between two steps may fail a different share.
        guard active?.kind != applied?.kind || active?.startedAt != applied?.startedAt else { return }
        guard let target else {
            if active != nil, !state.withLock({ $0.unable }) {
                logger.warning("a fault drill runs, but this node's payment gateway has no knobs to inject it with", metadata: ["drill": "\(active!.kind.rawValue)"])
                state.withLock { $0.unable = true }
            }
            return
        }
        if let applied {
            try await target.changeKnobs(applied.kind.reverted)
            state.withLock { $0.applied = nil }
            logger.info("fault drill ended", metadata: ["drill": "\(applied.kind.rawValue)"])
        }
        if let active {
            try await target.changeKnobs(active.kind.knobs(active, paymentWindow: paymentWindow))
            state.withLock { $0.applied = active }
            logger.warning("fault drill in force", metadata: [
                "drill": "\(active.kind.rawValue)", "until": "\(active.endsAt.formatted(.iso8601))", "by": "\(active.by)", "reason": "\(active.reason)",
            ])
        }
    }
}

extension Mall {
    /// Starting, stopping and reading the fault drills.
    public var drills: DrillService { DrillService(engine: engine) }

    /// What puts the running drill in force on this node, through `target` (the fake
    /// gateway's knobs); `nil`: drills are recorded but cannot be injected here.
    public func drillRunner(target: (any GatewayKnobsControl)?, logger: Logger) -> DrillRunner {
        DrillRunner(drills: drills, target: target, paymentWindow: configuration.paymentWindow, logger: logger)
    }
}
