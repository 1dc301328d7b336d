import Hummingbird
import MallApp

/// Members: registration and log-in for anyone; levels for the admin.
struct MemberRoutes {
    let mall: Mall
    let limits: IngressLimits

    func routes() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        let registrations = RateLimitMiddleware(limits: limits, limiter: { $0.registrations }, refusal: .registrations, what: "registrations from this address") { $0.clientAddress }
        routes.group().add(middleware: registrations).post("/members") { request, context in
            let body = try await context.decode(RegisterRequest.self, from: request)
            let id = try await mall.members.register(email: body.email, password: body.password, name: body.name)
            return try JSON.response(RegisterResponse(id: id), status: .created)
        }
        routes.group().add(middleware: FailedLoginLimitMiddleware(limits: limits)).post("/sessions") { request, context in
            let body = try await context.decode(SessionRequest.self, from: request)
            let token = try await mall.members.logIn(email: body.email, password: body.password)
            let memberID = try await mall.members.memberID(forToken: token)
            return try JSON.response(SessionResponse(token: token, memberId: memberID), status: .created)
        }
        return routes
    }

    func admin() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.put("/members/{id}/level") { request, context in
            let body = try await context.decode(LevelRequest.self, from: request)
            let id = try context.parameter("id")
            try await mall.members.changeLevel(memberID: id, to: body.level)
            return try JSON.response(LevelResponse(id: id, level: body.level.rawValue))
        }
        return routes
    }
}
