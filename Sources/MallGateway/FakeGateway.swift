import AsyncHTTPClient
import Foundation
import Herald
import Logging
import MallKernel
import MallPayment
import NIOCore

/// How the fake gateway misbehaves; every knob changes while it runs (`PUT /v1/knobs`).
public struct GatewayKnobs: Codable, Sendable, Hashable {
    /// Added before every answer, in milliseconds (0 ... 60,000).
    public var latencyMs = 0
    /// The share of calls answered 500 without doing anything (0 ... 1).
    public var failureRate = 0.0
    /// Every call answered 503 without doing anything.
    public var outage = false
    /// The share of payments whose callback says `failed` (0 ... 1).
    public var declineRate = 0.0
    /// Whether callbacks are sent at all. Off, someone else signs them (`mall gateway sign`).
    public var callbacks = true
    /// The wait before a payment's callback, in milliseconds (0 ... 86,400,000): longer
    /// than the payment window makes a late callback.
    public var callbackDelayMs = 200
    /// Each callback sent twice.
    public var duplicateCallbacks = false

    public init() {}

    /// - Throws: ``ConfigurationError`` naming the knob and its allowed range.
    public func validate() throws {
        func check(_ ok: Bool, _ field: String, _ value: CustomStringConvertible, _ allowed: String) throws {
            guard ok else { throw ConfigurationError(setting: field, value: value.description, allowed: allowed) }
        }
        try check((0...60_000).contains(latencyMs), "latencyMs", latencyMs, "0...60000")
        try check((0...1).contains(failureRate), "failureRate", failureRate, "0...1")
        try check((0...1).contains(declineRate), "declineRate", declineRate, "0...1")
        try check((0...86_400_000).contains(callbackDelayMs), "callbackDelayMs", callbackDelayMs, "0...86400000")
    }

    /// The default knobs with those of `json` (a ``Change``) set.
    ///
    /// - Throws: ``ConfigurationError`` naming `setting` for JSON that is not a change, or a knob out of range.
    public static func parse(_ json: String, setting: String) throws -> GatewayKnobs {
        let change: Change
        do {
            change = try JSONDecoder().decode(Change.self, from: Data(json.utf8))
        } catch {
            throw ConfigurationError(setting: setting, value: json, allowed: "a JSON object of knobs: latencyMs, failureRate, outage, declineRate, callbacks, callbackDelayMs, duplicateCallbacks")
        }
        let knobs = GatewayKnobs().merging(change)
        do { try knobs.validate() } catch let error as ConfigurationError {
            throw ConfigurationError(setting: "\(setting).\(error.setting)", value: error.value, allowed: error.allowed)
        }
        return knobs
    }

    /// These knobs with the ones `change` names set: a `PUT /v1/knobs` body may name any subset.
    func merging(_ change: Change) -> GatewayKnobs {
        var knobs = self
        if let value = change.latencyMs { knobs.latencyMs = value }
        if let value = change.failureRate { knobs.failureRate = value }
        if let value = change.outage { knobs.outage = value }
        if let value = change.declineRate { knobs.declineRate = value }
        if let value = change.callbacks { knobs.callbacks = value }
        if let value = change.callbackDelayMs { knobs.callbackDelayMs = value }
        if let value = change.duplicateCallbacks { knobs.duplicateCallbacks = value }
        return knobs
    }

    public struct Change: Codable, Sendable, Hashable {
        public var latencyMs: Int?
        public var failureRate: Double?
        public var outage: Bool?
        public var declineRate: Double?
        public var callbacks: Bool?
        public var callbackDelayMs: Int?
        public var duplicateCallbacks: Bool?

        public init(
            latencyMs: Int? = nil, failureRate: Double? = nil, outage: Bool? = nil, declineRate: Double? = nil, callbacks: Bool? = nil,
            callbackDelayMs: Int? = nil, duplicateCallbacks: Bool? = nil
        ) {
            self.latencyMs = latencyMs
            self.failureRate = failureRate
            self.outage = outage
            self.declineRate = declineRate
            self.callbacks = callbacks
            self.callbackDelayMs = callbackDelayMs
            self.duplicateCallbacks = duplicateCallbacks
        }
    }
}

/// What the fake gateway refused or failed, as its HTTP API answers it.
public enum GatewayFault: Error, Sendable, Hashable, CustomStringConvertible {
    /// `outage` is on (503).
    case outage
    /// A call picked by `failureRate` (500).
    case failed
    /// The payment exists with another amount, or a refund names an unknown payment or
    /// another amount (409).
    case refused(String)

    public var description: String {
        switch self {
        case .outage: "the gateway is down (outage)"
        case .failed: "the gateway failed the call (failureRate)"
        case .refused(let why): why
        }
    }
}

/// A payment gateway that runs on this machine: it keeps its ledger of payments and
/// refunds in a state file, answers as ``GatewayKnobs`` say, and sends each payment's
/// outcome to Mall as a signed callback after ``GatewayKnobs/callbackDelayMs``.
///
/// `mall gateway serve` runs one in its own process; `mall serve` without `--gateway-url`
/// runs one in process. Either way Mall reaches it over HTTP (``FakeGatewayServer``,
/// ``HTTPPaymentGateway``). Used directly (it is a ``PaymentGateway``), with callbacks
/// off, it is the gateway of an in-process Mall whose callbacks a test signs by hand.
public actor FakeGateway: PaymentGateway {
    struct Entry: Codable, Sendable {
        var amount: Money
        var outcome: GatewayOutcome?
        var refunded: Bool
    }

    private var knobs: GatewayKnobs
    private var ledger: [String: Entry] = [:]
    private let statePath: String?
    private var secret: String?
    private var callbackURL: String?
    private let logger: Logger
    /// Calls received (payments and refunds), whatever they were answered.
    public private(set) var callsReceived = 0

    /// - Parameters:
    ///   - statePath: where the ledger is kept across restarts (`nil`: memory only).
    ///   - secret: what callbacks are signed with (Mall's gateway secret).
    ///   - callbackURL: Mall's `…/payment-gateway/callbacks`.
    /// - Throws: ``ConfigurationError`` for invalid knobs; a state file that cannot be read.
    public init(knobs: GatewayKnobs = GatewayKnobs(), statePath: String? = nil, secret: String? = nil, callbackURL: String? = nil, logger: Logger = Logger(label: "gateway")) throws {
        try knobs.validate()
        self.knobs = knobs
        self.statePath = statePath
        self.secret = secret
        self.callbackURL = callbackURL
        self.logger = logger
        if let statePath, FileManager.default.fileExists(atPath: statePath) {
            ledger = try JSONDecoder().decode([String: Entry].self, from: Data(contentsOf: URL(fileURLWithPath: statePath)))
        }
    }

    /// A gateway that sends no callbacks and never misbehaves: an in-process Mall's, when
    /// no other is given (tests sign callbacks by hand).
    public static func silent() -> FakeGateway {
        var knobs = GatewayKnobs()
        knobs.callbacks = false
        // Valid knobs, no state file: cannot throw.
        return try! FakeGateway(knobs: knobs)
    }

    /// Where callbacks go and what signs them (known once Mall is up).
    public func connect(secret: String, callbackURL: String) {
        self.secret = secret
        self.callbackURL = callbackURL
    }

    public func currentKnobs() -> GatewayKnobs { knobs }

    /// Sets the knobs `change` names. - Throws: ``ConfigurationError``; nothing changes then.
    @discardableResult
    public func change(_ change: GatewayKnobs.Change) throws -> GatewayKnobs {
        let changed = knobs.merging(change)
        try changed.validate()
        knobs = changed
        logger.info("gateway knobs changed", metadata: ["knobs": "\(changed)"])
        return changed
    }

    /// What the gateway holds for the payment, if it knows it.
    public func entry(_ paymentID: String) -> GatewayWire.IntentState? {
        ledger[paymentID].map { GatewayWire.IntentState(paymentId: paymentID, amount: $0.amount, status: $0.outcome?.rawValue ?? "pending", refunded: $0.refunded) }
    }

    // MARK: PaymentGateway (in process: faults as the HTTP client reports them)

    public func createIntent(paymentID: String, amount: Money) async throws {
        try await reportingFaults { _ = try await charge(paymentID: paymentID, amount: amount) }
    }

    public func refund(paymentID: String, amount: Money) async throws {
        try await reportingFaults { try await refundPayment(paymentID: paymentID, amount: amount) }
    }

    /// Runs `body`, its ``GatewayFault`` thrown as ``HTTPPaymentGateway`` would report the
    /// answer: ``GatewayUnavailable`` for an outage (503), ``GatewayInDoubt`` for a failure
    /// (500: a real gateway's says nothing of what it did), ``GatewayRefused`` for a refusal.
    private func reportingFaults(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let fault as GatewayFault {
            switch fault {
            case .outage: throw GatewayUnavailable(reason: fault.description)
            case .failed: throw GatewayInDoubt(reason: fault.description)
            case .refused(let why): throw GatewayRefused(status: 409, message: why)
            }
        }
    }

    /// Refunds a payment in full, once; a repeated refund changes nothing.
    func refundPayment(paymentID: String, amount: Money) async throws {
        try await misbehave()
        guard var entry = ledger[paymentID] else { throw GatewayFault.refused("no payment \(paymentID) to refund") }
        guard entry.amount == amount else { throw GatewayFault.refused("payment \(paymentID) is of \(entry.amount), not \(amount)") }
        guard !entry.refunded else { return }
        entry.refunded = true
        ledger[paymentID] = entry
        try save()
    }

    /// Takes a payment: `true` when it is new. A payment known with the same amount changes
    /// nothing (and sends no second callback).
    func charge(paymentID: String, amount: Money) async throws -> Bool {
        try await misbehave()
        if let known = ledger[paymentID] {
            guard known.amount == amount else { throw GatewayFault.refused("payment \(paymentID) exists with another amount, \(known.amount)") }
            return false
        }
        ledger[paymentID] = Entry(amount: amount, outcome: nil, refunded: false)
        try save()
        if knobs.callbacks { scheduleCallback(paymentID) }
        return true
    }

    /// Waits ``GatewayKnobs/latencyMs``, then fails the call when the knobs say so.
    private func misbehave() async throws {
        callsReceived += 1
        if knobs.latencyMs > 0 { try await Task.sleep(for: .milliseconds(knobs.latencyMs)) }
        if knobs.outage { throw GatewayFault.outage }
        if knobs.failureRate > 0, Double.random(in: 0..<1) < knobs.failureRate { throw GatewayFault.failed }
    }

    private func save() throws {
        guard let statePath else { return }
        try JSONEncoder().encode(ledger).write(to: URL(fileURLWithPath: statePath), options: .atomic)
    }

    // MARK: Callbacks

    private func scheduleCallback(_ paymentID: String) {
        let delay = knobs.callbackDelayMs
        Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(delay))
            await self?.sendCallback(paymentID)
        }
    }

    /// Decides the payment's outcome (once) and posts it, twice with `duplicateCallbacks`;
    /// a callback Mall did not take is tried again, up to five times, a second apart.
    private func sendCallback(_ paymentID: String) async {
        guard var entry = ledger[paymentID], let secret, let callbackURL else {
            logger.warning("callback not sent: the gateway is not connected to Mall yet", metadata: ["payment": "\(paymentID)"])
            return
        }
        let outcome = entry.outcome ?? (Double.random(in: 0..<1) < knobs.declineRate ? .failed : .succeeded)
        entry.outcome = outcome
        ledger[paymentID] = entry
        try? save()
        let report = GatewayReport(paymentID: paymentID, outcome: outcome, amount: entry.amount, timestamp: Int64(Date().timeIntervalSince1970))
        let body = GatewayWire.Callback(report, signature: GatewaySignature(secret: secret).sign(report))
        for _ in 0..<(knobs.duplicateCallbacks ? 2 : 1) {
            await Self.post(body, to: callbackURL, logger: logger)
        }
    }

    private static func post(_ callback: GatewayWire.Callback, to url: String, logger: Logger) async {
        for attempt in 1...5 {
            do {
                let (status, _) = try await HTTPClient.json(.POST, url, callback, timeout: .seconds(5))
                // 2xx: taken; 4xx: refused for good (bad signature, conflict): no retry.
                if status < 500 {
                    if status >= 400 {
                        logger.warning("callback refused", metadata: ["payment": "\(callback.paymentId)", "status": "\(status)"])
                    }
                    return
                }
            } catch {
                logger.info("callback not delivered; will retry", metadata: ["payment": "\(callback.paymentId)", "attempt": "\(attempt)", "error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
        logger.error("callback given up after 5 attempts", metadata: ["payment": "\(callback.paymentId)"])
    }
}

/// Where a drill changes the gateway's knobs: a ``FakeGateway`` in process, or one in
/// another process through its `PUT /v1/knobs` (``HTTPGatewayKnobs``).
public protocol GatewayKnobsControl: Sendable {
    func changeKnobs(_ change: GatewayKnobs.Change) async throws
}

extension FakeGateway: GatewayKnobsControl {
    public func changeKnobs(_ change: GatewayKnobs.Change) async throws { try self.change(change) }
}

/// The knobs of a fake gateway in another process (`mall gateway serve`).
public struct HTTPGatewayKnobs: GatewayKnobsControl {
    public let baseURL: String
    /// The merchant's API key, which the gateway's API asks for.
    let apiKey: String?

    public init(baseURL: String, apiKey: String?) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
    }

    public func changeKnobs(_ change: GatewayKnobs.Change) async throws {
        let (status, body) = try await HTTPClient.json(.PUT, baseURL + "/v1/knobs", change, bearer: apiKey, timeout: .seconds(5))
        guard status == 200 else {
            throw GatewayUnavailable(reason: "the gateway's knobs answered HTTP \(status): \(String(buffer: body).prefix(200))")
        }
    }
}
