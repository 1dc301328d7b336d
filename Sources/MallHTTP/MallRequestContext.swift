import Hummingbird
import MallApplication
import NIOCore
import MallKernel

/// The request context of every Mall route: who is calling (set by the authentication
/// middleware), how large a body may be (set by ``RequestLimitsMiddleware``), and the one
/// way bodies are decoded.
public struct MallRequestContext: RequestContext {
    /// Who made the request, once authenticated.
    public enum Caller: Sendable, Hashable {
        case member(id: String)
        case admin
    }

    public var coreContext: CoreRequestContextStorage
    public var caller: Caller?
    /// The governance rules a request was admitted under, where a middleware checked them
    /// (``OrderIngressMiddleware``): the route reads the same snapshot.
    var rules: GovernanceRules?
    /// The largest request body accepted, in bytes (larger ones are refused with 413).
    public var bodyLimit = 64 * 1024
    /// The token the console's forms must carry (set by ``ConsoleAuthentication``).
    var formToken: String?
    /// The address of the connection's peer (`nil` without one, as in-process tests).
    public let peerAddress: IPAddress?
    /// The client's address: the peer's, or, behind a trusted proxy, the one its
    /// forwarding headers name (set by ``ClientAddressMiddleware``).
    public var client: IPAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerAddress = source.channel.remoteAddress?.ipAddress.flatMap { IPAddress($0) }
        client = peerAddress
    }

    /// The client's address as text ("unknown" without one).
    public var clientAddress: String { client?.description ?? "unknown" }

    /// What the limits per client count: the IPv4 address or the IPv6 /64 ("unknown"
    /// without one; see ``IPAddress/limiterKey``).
    public var clientKey: String { client?.limiterKey ?? "unknown" }

    /// The member making the request. Routes behind ``MemberAuthentication`` always have one.
    ///
    /// - Throws: ``Mall/sessionInvalid`` (401) when nobody authenticated.
    public func memberID() throws -> String {
        guard case .member(let id) = caller else { throw Mall.sessionInvalid }
        return id
    }

    /// The member making the request, if one authenticated.
    public var optionalMemberID: String? {
        if case .member(let id) = caller { id } else { nil }
    }

    /// The request's JSON body, read up to ``bodyLimit`` bytes (else 413) and decoded; a
    /// malformed body is an ``InvalidInput`` naming the field.
    public func decode<Body: Decodable>(_ type: Body.Type, from request: Request) async throws -> Body {
        try await JSON.decode(type, from: request, limit: bodyLimit)
    }

    /// The request's form body (`application/x-www-form-urlencoded`), read up to
    /// ``bodyLimit`` bytes (else 413) and decoded; a malformed one names the field.
    func decodeForm<Body: Decodable>(_ type: Body.Type, from request: Request) async throws -> Body {
        var request = request
        let buffer = try await request.collectBody(upTo: bodyLimit)
        do {
            return try URLEncodedFormDecoder().decode(type, from: String(buffer: buffer))
        } catch let error as DecodingError {
            throw JSON.invalidInput(from: error)
        }
    }

    /// Refuses (403) a console form whose token is not this page's: a form of another site.
    func requireFormToken(_ token: String) throws {
        guard let formToken, ConstantTime.equals(token, formToken) else {
            throw HTTPError(.forbidden, message: "the form's token does not match: reload the page and try again")
        }
    }

    /// A path parameter that must be there (the route's pattern names it).
    func parameter(_ name: String) throws -> String { try parameters.require(name) }

    /// The `{sku}` path parameter, checked against the SKU pattern (as the document states it).
    func sku() throws -> String {
        let sku = try parameters.require("sku")
        guard MallServer.isSKU(sku) else { throw InvalidInput(field: "sku", "1 to 64 letters, digits, '-' or '_'") }
        return sku
    }
}
