import Hummingbird
import MallApplication
import MallOperations

/// Members: registration and log-in for anyone; levels for the admin.
struct MemberRoutes {
    let mall: Mall
    let limits: IngressLimits

    func routes() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        let registrations = RateLimitMiddleware(limits: limits, refusal: .registrations, what: "registrations from this address") { $0.clientKey }
        routes.group().add(middleware: registrations).post("/members") { request, context in
            let body = try await context.decode(RegisterRequest.self, from: request)
            let id = try await mall.register(email: body.email, password: body.password, name: body.name)
            return try JSON.response(RegisterResponse(id: id), status: .created)
        }
        let gate = LoginGate(limits: limits)
        routes.post("/sessions") { request, context in
            let body = try await context.decode(SessionRequest.self, from: request)
            let account = String(body.email.trimmingCharacters(in: .whitespaces).lowercased().prefix(254))
            let token = try await gate.logIn(account: account, address: context.clientKey) {
                try await mall.logIn(email: body.email, password: body.password)
            }
            let memberID = try await mall.memberID(forToken: token)
            return try JSON.response(SessionResponse(token: token, memberId: memberID), status: .created)
        }
        // Log out: this token, or every session of its member.
        routes.delete("/sessions/current") { request, _ in
            guard let token = BearerToken(request) else { throw Mall.sessionInvalid }
            try await mall.logOut(token: token.value)
            return Response(status: .noContent)
        }
        routes.group().add(middleware: MemberAuthentication(mall: mall)).delete("/sessions") { _, context in
            let ended = try await mall.logOutEverywhere(memberID: try context.memberID())
            return try JSON.response(SessionsEnded(ended: ended))
        }
        return routes
    }

    func admin() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.put("/members/{id}/level") { request, context in
            let body = try await context.decode(LevelRequest.self, from: request)
            let id = try context.parameter("id")
            try await mall.changeLevel(memberID: id, to: body.level)
            return try JSON.response(LevelResponse(id: id, level: body.level.rawValue))
        }
        return routes
    }
}
