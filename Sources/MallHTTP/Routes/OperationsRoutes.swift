import Hummingbird
import MallApp

/// Operating the shop, for the admin: subscriptions and projections, dead letters,
/// reconciliation.
struct OperationsRoutes {
    let mall: Mall

    func admin() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.get("/subscriptions") { _, _ in
            try JSON.response(try await mall.engine.subscriptionStatuses().map(SubscriptionStatusBody.init))
        }
        routes.get("/dead-letters") { _, _ in
            try JSON.response(try await mall.engine.deadLetters.list().map(DeadLetterBody.init))
        }
        routes.post("/dead-letters/replay") { request, context in
            let body = try await context.decode(DeadLetterSelection.self, from: request)
            return try JSON.response(CountResponse(count: try await mall.engine.deadLetters.replay(body.filter)))
        }
        routes.post("/dead-letters/discard") { request, context in
            let body = try await context.decode(DeadLetterSelection.self, from: request)
            return try JSON.response(CountResponse(count: try await mall.engine.deadLetters.discard(body.filter)))
        }
        routes.get("/reconciliation") { _, _ in
            try JSON.response(ReconciliationBody(try await mall.reconcile()))
        }
        return routes
    }
}
