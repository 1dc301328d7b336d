import Hummingbird
import MallApplication
import MallOperations
import MallKernel

/// Operating the shop, for the admin: subscriptions and projections, dead letters,
/// reconciliation, governance rules, the payment gateway's protection, fault drills.
struct OperationsRoutes {
    let mall: Mall
    let limits: IngressLimits
    let reconciliations: ReconciliationRuns

    /// A finished run's report, or `202` naming the run under way.
    static func response(_ outcome: ReconciliationRuns.Outcome) throws -> Response {
        switch outcome {
        case .finished(let report, let startedAt, let finishedAt):
            return try JSON.response(ReconciliationBody(report, startedAt: startedAt, finishedAt: finishedAt))
        case .running(let run, let startedAt):
            var response = try JSON.response(ReconciliationRunningBody(run: run, startedAt: startedAt), status: .accepted)
            response.headers[.location] = "/admin/reconciliation/runs/\(run)"
            response.headers[.retryAfter] = "5"
            return response
        }
    }

    func admin() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.get("/subscriptions") { _, _ in
            try JSON.response(try await mall.subscriptionStatuses().map(SubscriptionStatusBody.init))
        }
        routes.get("/dead-letters") { _, _ in
            try JSON.response(try await mall.deadLetters().map(DeadLetterBody.init))
        }
        routes.post("/dead-letters/replay") { request, context in
            let body = try await context.decode(DeadLetterSelectionBody.self, from: request)
            return try JSON.response(CountResponse(count: try await mall.replayDeadLetters(body.selection)))
        }
        routes.post("/dead-letters/discard") { request, context in
            let body = try await context.decode(DeadLetterSelectionBody.self, from: request)
            return try JSON.response(CountResponse(count: try await mall.discardDeadLetters(body.selection)))
        }
        routes.get("/reconciliation") { _, _ in
            try Self.response(try await reconciliations.report())
        }
        routes.get("/reconciliation/runs/{run}") { _, context in
            let run = try context.parameters.require("run", as: Int.self)
            guard let outcome = try await reconciliations.outcome(ofRun: run) else {
                throw NoSuchReconciliationRun(run: run, kept: reconciliations.kept)
            }
            return try Self.response(outcome)
        }
        routes.get("/rules") { _, _ in
            let (version, rules) = try await mall.governance.current()
            return try JSON.response(RulesBody(version: version, rules: rules))
        }
        routes.put("/rules") { request, context in
            let body = try await context.decode(SetRulesRequest.self, from: request)
            let rules = body.rules.rules(over: try await mall.governance.current().rules)
            let version = try await mall.governance.set(rules, expectedVersion: body.version, by: body.by, reason: body.reason)
            // In force on this node at once; the others follow within a second.
            try limits.apply(rules, version: version)
            return try JSON.response(RulesBody(version: version, rules: rules))
        }
        routes.get("/rules/history") { _, _ in
            try JSON.response(try await mall.governance.history().map(RuleChangeBody.init))
        }
        routes.get("/gateway") { _, _ in
            try JSON.response(GatewayStatusBody(mall.gatewayStatus))
        }
        routes.get("/drills") { _, _ in
            try JSON.response(DrillsBody(try await mall.drills.status()))
        }
        routes.post("/drills") { request, context in
            let body = try await context.decode(StartDrillRequest.self, from: request)
            guard let kind = DrillKind(rawValue: body.kind) else {
                throw InvalidInput(field: "kind", "one of " + DrillKind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let drill = try await mall.drills.start(kind, seconds: body.seconds, failingPercent: body.failingPercent, by: body.by, reason: body.reason)
            return try JSON.response(DrillBody(drill), status: .created)
        }
        routes.post("/drills/stop") { _, _ in
            guard let stopped = try await mall.drills.stop() else { throw NoDrillRunning() }
            return try JSON.response(DrillBody(stopped))
        }
        return routes
    }
}

struct NoSuchReconciliationRun: MallProblem {
    let run: Int
    let kept: Int
    var kind: ProblemKind { .notFound }
    var field: String? { "run" }
    var description: String { "no reconciliation run \(run) (the latest \(kept) are kept)" }
}
