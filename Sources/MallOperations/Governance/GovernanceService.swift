@_spi(Operations) import MallApplication
import Foundation
import Herald
import MallKernel

/// One change of the rules: who, when, why, from what to what.
public struct RuleChange: Codable, Sendable, Hashable {
    public var version: Int64
    public var at: Date
    public var by: String
    public var reason: String
    public var old: GovernanceRules
    public var new: GovernanceRules
}

/// The rules in force and their latest changes, one document ("main"), versioned by Herald.
struct RuleBook: AggregateRoot {
    static let streamType = "GovernanceRules"
    static let mainID = "main"
    /// Changes kept in the document, newest last.
    static let historyLimit = 100

    let id: String
    var rules: GovernanceRules
    var history: [RuleChange] = []
    var pendingEvents = PendingEvents()
}

/// The stored rules moved on since the caller read them.
public struct RulesChangedMeanwhile: MallProblem, Hashable, Sendable {
    public var expected: Int64
    public var kind: ProblemKind { .conflict }
    public var field: String? { "version" }
    public var description: String { "the rules are no longer at version \(expected); read them again and retry" }
}

/// Reading and changing the governance rules.
public struct GovernanceService: Sendable {
    let engine: HeraldEngine
    let configuration: MallConfiguration

    init(engine: HeraldEngine, configuration: MallConfiguration) {
        self.engine = engine
        self.configuration = configuration
    }

    /// The rules in force, and their version (0: the configuration's, never changed).
    public func current() async throws -> (version: Int64, rules: GovernanceRules) {
        let work = engine.unitOfWork()
        guard let book = try await work.load(RuleBook.self, id: RuleBook.mainID) else { return (0, GovernanceRules(configuration)) }
        return (Int64(book.history.last?.version ?? 0), book.rules)
    }

    /// Replaces the rules if they are still at `expectedVersion`. A rule that does not
    /// validate is refused and the rules in force stay.
    ///
    /// - Throws: ``InvalidInput`` naming the field, or ``RulesChangedMeanwhile``.
    @discardableResult
    public func set(_ rules: GovernanceRules, expectedVersion: Int64, by: String, reason: String) async throws -> Int64 {
        try rules.validate()
        let by = try by.validated(field: "by", maxLength: 100)
        let reason = try reason.validated(field: "reason", maxLength: 500)
        let now = engine.clock.now()
        let configured = GovernanceRules(configuration)
        let version = try await engine.perform { work in
            var book = try await work.load(RuleBook.self, id: RuleBook.mainID) ?? RuleBook(id: RuleBook.mainID, rules: configured)
            let version = Int64(book.history.last?.version ?? 0)
            guard version == expectedVersion else { throw RulesChangedMeanwhile(expected: expectedVersion) }
            book.history.append(RuleChange(version: version + 1, at: now, by: by, reason: reason, old: book.rules, new: rules))
            book.history = Array(book.history.suffix(RuleBook.historyLimit))
            book.rules = rules
            try work.save(&book)
            return version + 1
        }
        await engine.announceChange(Self.topic)
        return version
    }

    /// The announcement a change sends, on which every node's rules follower wakes.
    public static let topic = "mall.rules"

    /// The latest changes, newest first (at most ``RuleBook/historyLimit``).
    public func history() async throws -> [RuleChange] {
        try await engine.unitOfWork().load(RuleBook.self, id: RuleBook.mainID)?.history.reversed() ?? []
    }
}

extension Mall {
    /// Reading and changing the governance rules (stored; every node follows a change).
    public var governance: GovernanceService { GovernanceService(engine: engine, configuration: configuration) }
}
