import Foundation
import Herald
import Hummingbird
import HummingbirdCore
import Logging
import MallApp
import MallEvents
import MallMembers
import NIOCore
import ServiceLifecycle

/// Mall's HTTP API on Hummingbird 2: the routes of DESIGN §6, problem+json errors,
/// bearer-token auth, size-limited bodies.
public struct MallServer: Sendable {
    let mall: Mall
    let logger: Logger

    public init(mall: Mall, logger: Logger) {
        self.mall = mall
        self.logger = logger
    }

    var bodyLimit: Int { mall.configuration.maxBodyBytes }

    /// The router with every route.
    public func router() -> Router<MallRequestContext> {
        let router = Router(context: MallRequestContext.self)
        let routes = RouteMethods()
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: MethodNotAllowedMiddleware(routes: routes))
        addHealthRoutes(to: router)
        addMemberRoutes(to: router)
        addShopRoutes(to: router)
        addOrderRoutes(to: router)
        addAdminRoutes(to: router)
        routes.load(router.routes)
        return router
    }

    /// The application, serving on the configured host and port next to `services`
    /// (Herald's subscriptions). `onListening` gets the bound port (useful with port 0).
    ///
    /// The server protects itself (see ``MallConfiguration``): at most `maxConnections`
    /// open connections (more wait in the listen backlog), connections idle for
    /// `idleTimeout` closed, and a request whose head or body is too slow to arrive
    /// (``RequestTimeoutHandler``) closed.
    public func application(services: [any Service], onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let settings = mall.configuration
        let head = TimeAmount(settings.requestHeadTimeout), body = TimeAmount(settings.requestBodyTimeout)
        return Application(
            router: router(),
            server: .http1(configuration: .init(
                additionalChannelHandlers: [RequestTimeoutHandler(headTimeout: head, bodyTimeout: body)],
                idleTimeout: TimeAmount(settings.idleTimeout))),
            configuration: .init(
                address: .hostname(settings.host, port: settings.port), serverName: "mall",
                availableConnectionsDelegate: MaximumAvailableConnections(settings.maxConnections, logger: logger)),
            services: services,
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    // MARK: Authentication

    /// The member whose bearer token the request carries.
    func member(_ request: Request) async throws -> Caller {
        guard let token = Self.bearerToken(request) else { throw MemberProblem.sessionInvalid }
        return Caller(id: try await mall.members.memberID(forToken: token))
    }

    /// The member, when the request carries a token at all (a bad token is still an error).
    func optionalMember(_ request: Request) async throws -> Caller? {
        guard request.headers[.authorization] != nil else { return nil }
        return try await member(request)
    }

    /// Fails unless the request carries the admin token.
    func requireAdmin(_ request: Request) async throws {
        guard let token = Self.bearerToken(request) else { throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "the admin token is required") }
        guard try await mall.isAdmin(token: token) else { throw HTTPError(.forbidden, message: "not the admin token") }
    }

    /// The authenticated member of a request.
    struct Caller {
        var id: String
    }

    /// The `{sku}` path parameter, checked against the SKU pattern (as the document states it).
    static func sku(_ context: MallRequestContext) throws -> String {
        let sku = try context.parameters.require("sku")
        guard isSKU(sku) else { throw InvalidInput(field: "sku", "1 to 64 letters, digits, '-' or '_'") }
        return sku
    }

    /// Whether `text` has the form of a SKU (`^[A-Za-z0-9_-]{1,64}$`).
    static func isSKU(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    static func bearerToken(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.count <= 512 else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }
}

extension UInt8 {
    var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
