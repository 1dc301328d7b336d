import Foundation
import Hummingbird
import MallApplication

/// Puts the member whose bearer token the request carries into the context. With
/// `required`, a request without a valid token is refused (401); without, only a token
/// that is there but not valid is.
struct MemberAuthentication: RouterMiddleware {
    typealias Context = MallRequestContext
    let mall: Mall
    var required = true

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if request.headers[.authorization] != nil || required {
            guard let token = BearerToken(request) else { throw Mall.sessionInvalid }
            context.caller = .member(id: try await mall.memberID(forToken: token.value))
        }
        return try await next(request, context)
    }
}

/// Lets through only requests carrying the admin token (compared in constant time):
/// 401 without a token, 403 with another.
struct AdminAuthentication: RouterMiddleware {
    typealias Context = MallRequestContext
    let mall: Mall

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = BearerToken(request) else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "the admin token is required")
        }
        guard try await mall.isAdmin(token: token.value) else { throw HTTPError(.forbidden, message: "not the admin token") }
        var context = context
        context.caller = .admin
        return try await next(request, context)
    }
}

/// The token of an `Authorization: Bearer …` header (at most 512 characters).
struct BearerToken {
    let value: String

    init?(_ request: Request) {
        guard let header = request.headers[.authorization], header.count <= 512 else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        value = String(parts[1]).trimmingCharacters(in: .whitespaces)
    }
}

/// Sets the limits of the configuration on every request's context.
struct RequestLimitsMiddleware: RouterMiddleware {
    typealias Context = MallRequestContext
    let bodyLimit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.bodyLimit = bodyLimit
        return try await next(request, context)
    }
}
