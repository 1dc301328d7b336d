import Foundation
import MallApplication
import MallOperations
import MallKernel

struct DeadLetterBody: Encodable {
    var subscription: String
    var position: Int64
    var eventId: String
    var eventType: String
    var stream: String
    var attempts: Int
    var lastError: String?
    var heldBehind: Int

    init(_ letter: DeadLetterView) {
        (subscription, position, eventId, eventType) = (letter.subscription, letter.position, letter.eventID.uuidString, letter.eventType)
        (stream, attempts, lastError, heldBehind) = (letter.stream, letter.attempts, letter.lastError, letter.heldBehind)
    }
}

/// Selects dead letters to replay or discard; no field selects all.
struct DeadLetterSelectionBody: Decodable {
    var subscription: String?
    var position: Int64?
    var eventType: String?

    var selection: DeadLetterSelection { DeadLetterSelection(subscription: subscription, position: position, eventType: eventType) }
}

/// Where one subscription or projection stands.
struct SubscriptionStatusBody: Encodable {
    var name: String
    var checkpoint: Int64
    var lag: Int64
    var retrying: Int
    var dead: Int
    var held: Int
    /// The node holding a partition's lease.
    var node: String?

    init(_ status: SubscriptionStatusView) {
        (name, checkpoint, lag) = (status.name, status.checkpoint, status.lag)
        (retrying, dead, held, node) = (status.retrying, status.dead, status.held, status.node)
    }
}

/// A reconciliation still running (`202`): its report is at `Location` once done.
struct ReconciliationRunningBody: Encodable {
    var status = "running"
    var run: Int
    var startedAt: Date
}

struct ReconciliationBody: Encodable {
    struct Drift: Encodable { var rule: String; var subject: String; var detail: String }

    var orders: Int
    var stocks: Int
    var wallets: Int
    var payments: Int
    var drifts: [Drift]
    var lag: [String: Int64]

    /// When the run began and ended (a request joins a run under way: see `ReconciliationRuns`).
    var startedAt: Date?
    var finishedAt: Date?

    init(_ report: ReconciliationReport, startedAt: Date? = nil, finishedAt: Date? = nil) {
        (self.startedAt, self.finishedAt) = (startedAt, finishedAt)
        (orders, stocks, wallets, payments) = (report.orders, report.stocks, report.wallets, report.payments)
        drifts = report.drifts.map { Drift(rule: $0.rule, subject: $0.subject, detail: $0.detail) }
        lag = report.lag
    }
}

/// A rate limit on the wire: tokens per minute, and the burst.
struct LimitWire: Codable {
    var perMinute: Double
    var burst: Int

    init(_ limit: GovernanceRules.Limit) {
        perMinute = limit.perMinute
        burst = limit.burst
    }

    var limit: GovernanceRules.Limit { GovernanceRules.Limit(perMinute: perMinute, burst: burst) }
}

/// The governance rules on the wire (`/admin/rules`).
struct RulesWire: Codable {
    var failedLogins: LimitWire
    /// Optional in a change (as in force when left out).
    var logins: LoginLimitsWire?
    var registrations: LimitWire
    var orders: LimitWire
    var maxRequestsInFlight: Int
    var ingressLimits: Bool
    var newOrdersPaused: Bool
    var searchDegraded: Bool
    /// Optional in a change (off when left out): clients written before it existed still work.
    var promotionsOff: Bool?
    /// Optional in a change (off when left out), as `promotionsOff`.
    var couponsDeferred: Bool?
    /// Optional in a change (as in force when left out).
    var gateway: GatewayCallsWire?

    private enum CodingKeys: String, CodingKey {
        case failedLogins, logins, registrations, orders, maxRequestsInFlight, ingressLimits, newOrdersPaused, searchDegraded, promotionsOff
        case couponsDeferred, gateway
    }

    /// Every field required but the later switches, `logins` and `gateway`, which may be left out but are never null.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        failedLogins = try container.decode(LimitWire.self, forKey: .failedLogins)
        logins = try container.decodeUnlessAbsent(LoginLimitsWire.self, forKey: .logins)
        registrations = try container.decode(LimitWire.self, forKey: .registrations)
        orders = try container.decode(LimitWire.self, forKey: .orders)
        maxRequestsInFlight = try container.decode(Int.self, forKey: .maxRequestsInFlight)
        ingressLimits = try container.decode(Bool.self, forKey: .ingressLimits)
        newOrdersPaused = try container.decode(Bool.self, forKey: .newOrdersPaused)
        searchDegraded = try container.decode(Bool.self, forKey: .searchDegraded)
        promotionsOff = try container.decodeUnlessAbsent(Bool.self, forKey: .promotionsOff)
        couponsDeferred = try container.decodeUnlessAbsent(Bool.self, forKey: .couponsDeferred)
        gateway = try container.decodeUnlessAbsent(GatewayCallsWire.self, forKey: .gateway)
    }

    init(_ rules: GovernanceRules) {
        failedLogins = LimitWire(rules.failedLogins)
        logins = LoginLimitsWire(rules.logins)
        registrations = LimitWire(rules.registrations)
        orders = LimitWire(rules.orders)
        maxRequestsInFlight = rules.maxRequestsInFlight
        ingressLimits = rules.ingressLimits
        newOrdersPaused = rules.newOrdersPaused
        searchDegraded = rules.searchDegraded
        promotionsOff = rules.promotionsOff
        couponsDeferred = rules.couponsDeferred
        gateway = GatewayCallsWire(rules.gateway)
    }

    /// The rules this change sets; a part it leaves out stays as in `current`.
    func rules(over current: GovernanceRules) -> GovernanceRules {
        GovernanceRules(
            failedLogins: failedLogins.limit, logins: logins?.limits ?? current.logins, registrations: registrations.limit, orders: orders.limit,
            maxRequestsInFlight: maxRequestsInFlight, ingressLimits: ingressLimits, newOrdersPaused: newOrdersPaused,
            searchDegraded: searchDegraded, promotionsOff: promotionsOff ?? false,
            couponsDeferred: couponsDeferred ?? false, gateway: gateway?.calls ?? current.gateway)
    }
}

/// The limits on log-ins beyond the failed ones per address, on the wire.
struct LoginLimitsWire: Codable {
    var perAddress: LimitWire
    var failedPerAccount: LimitWire
    var perAccount: LimitWire

    init(_ limits: GovernanceRules.LoginLimits) {
        perAddress = LimitWire(limits.perAddress)
        failedPerAccount = LimitWire(limits.failedPerAccount)
        perAccount = LimitWire(limits.perAccount)
    }

    var limits: GovernanceRules.LoginLimits {
        GovernanceRules.LoginLimits(perAddress: perAddress.limit, failedPerAccount: failedPerAccount.limit, perAccount: perAccount.limit)
    }
}

struct GatewayCallsWire: Codable {
    var timeoutSeconds: Double
    var failureRatePercent: Int
    var waitInOpenSeconds: Int
    var maxConcurrent: Int

    init(_ calls: GovernanceRules.GatewayCalls) {
        timeoutSeconds = calls.timeoutSeconds
        failureRatePercent = calls.failureRatePercent
        waitInOpenSeconds = calls.waitInOpenSeconds
        maxConcurrent = calls.maxConcurrent
    }

    var calls: GovernanceRules.GatewayCalls {
        GovernanceRules.GatewayCalls(
            timeoutSeconds: timeoutSeconds, failureRatePercent: failureRatePercent, waitInOpenSeconds: waitInOpenSeconds, maxConcurrent: maxConcurrent)
    }
}

struct RulesBody: Encodable {
    var version: Int64
    var rules: RulesWire

    init(version: Int64, rules: GovernanceRules) {
        self.version = version
        self.rules = RulesWire(rules)
    }
}

/// A change of the rules: the whole new set, the version it replaces, who and why.
struct SetRulesRequest: Decodable {
    var version: Int64
    var rules: RulesWire
    var by: String
    var reason: String
}

struct RuleChangeBody: Encodable {
    var version: Int64
    var at: Date
    var by: String
    var reason: String
    var old: RulesWire
    var new: RulesWire

    init(_ change: RuleChange) {
        version = change.version
        at = change.at
        by = change.by
        reason = change.reason
        old = RulesWire(change.old)
        new = RulesWire(change.new)
    }
}

/// `POST /admin/drills`.
struct StartDrillRequest: Decodable {
    var kind: String
    var seconds: Double
    /// `gateway-failing` only; 50 when left out.
    var failingPercent: Int?
    var by: String
    var reason: String

    private enum CodingKeys: String, CodingKey { case kind, seconds, failingPercent, by, reason }

    /// `failingPercent` may be left out but is never null.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decode(String.self, forKey: .kind)
        seconds = try container.decode(Double.self, forKey: .seconds)
        failingPercent = try container.decodeUnlessAbsent(Int.self, forKey: .failingPercent)
        by = try container.decode(String.self, forKey: .by)
        reason = try container.decode(String.self, forKey: .reason)
    }
}

struct DrillBody: Encodable {
    var kind: String
    var startedAt: Date
    var endsAt: Date
    var by: String
    var reason: String
    var stoppedAt: Date?
    var failingPercent: Int?

    init(_ drill: FaultDrill) {
        kind = drill.kind.rawValue
        startedAt = drill.startedAt
        endsAt = drill.endsAt
        by = drill.by
        reason = drill.reason
        stoppedAt = drill.stoppedAt
        failingPercent = drill.failingPercent
    }
}

/// `GET /admin/drills`: the running drill (or null) and the latest ones, newest first.
struct DrillsBody: Encodable {
    var active: DrillBody?
    var recent: [DrillBody]

    init(_ status: (active: FaultDrill?, recent: [FaultDrill])) {
        active = status.active.map(DrillBody.init)
        recent = status.recent.map(DrillBody.init)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(active, forKey: .active)  // null when none runs, not left out
        try container.encode(recent, forKey: .recent)
    }

    enum CodingKeys: String, CodingKey { case active, recent }
}

/// `POST /admin/drills/stop` with no drill running.
struct NoDrillRunning: MallProblem {
    var kind: ProblemKind { .notFound }
    var field: String? { nil }
    var description: String { "no fault drill is running" }
}

/// `GET /admin/gateway`: how this node calls the payment gateway now.
struct GatewayStatusBody: Encodable {
    /// The gateway's base URL; null for a gateway called in process (tests, `mall demo`).
    var url: String?
    /// The breaker's state on this node: closed, open or half-open; null without a client.
    var breaker: String?
    /// The settings in force on this node (as the `gateway` rule writes them).
    var settings: GatewayCallsWire?

    init(_ status: GatewayClientStatus) {
        url = status.url
        breaker = status.breaker
        settings = status.settings.map(GatewayCallsWire.init)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(url, forKey: .url)  // null, not left out
        try container.encode(breaker, forKey: .breaker)
        try container.encode(settings, forKey: .settings)
    }

    enum CodingKeys: String, CodingKey { case url, breaker, settings }
}
