import HTTPTypes
import Hummingbird
import MallKernel

/// Puts the client's address into the context: the connection's peer, or, when the peer is
/// a trusted proxy (`--trusted-proxy`), the address its forwarding headers name.
///
/// Behind a proxy every connection comes from the proxy: without this, every limit per
/// address would count all clients as one (ten bad log-ins a minute from anyone would lock
/// out everyone). The headers are believed only from a trusted peer, never otherwise: any
/// client can send them.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = MallRequestContext
    let trustedProxies: [IPNetwork]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !trustedProxies.isEmpty, let peer = context.peerAddress else { return try await next(request, context) }
        var context = context
        context.client = ClientAddress.resolve(peer: peer, headers: request.headers, trusted: trustedProxies)
        return try await next(request, context)
    }
}

/// Who the client is, from the peer and the forwarding headers.
enum ClientAddress {
    /// Forwarded hops read at most: a request cannot make the server parse a list of any length.
    static let maximumHops = 32

    /// The client of a request from `peer`: `peer` itself unless it is trusted; otherwise
    /// the forwarding chain is walked from the nearest hop outwards, and the first address
    /// that is not a trusted proxy is the client (what lies further out was written by the
    /// client and may be anything). `Forwarded` (RFC 7239) is read when present, else
    /// `X-Forwarded-For`. A hop that is not an address (`unknown`, an obfuscated name) ends
    /// the walk at the last trusted proxy before it; so does a chain of only trusted proxies.
    static func resolve(peer: IPAddress, headers: HTTPFields, trusted: [IPNetwork]) -> IPAddress {
        func isTrusted(_ address: IPAddress) -> Bool { trusted.contains { $0.contains(address) } }
        guard isTrusted(peer) else { return peer }
        var nearest = peer
        for hop in chain(headers).reversed() {
            guard let address = IPAddress(hop) else { return nearest }
            guard isTrusted(address) else { return address }
            nearest = address
        }
        return nearest
    }

    /// The forwarded hops, client-most first, as written (at most ``maximumHops``, the nearest).
    static func chain(_ headers: HTTPFields) -> [String] {
        let forwarded = headers[values: .forwarded]
        if !forwarded.isEmpty {
            let elements = forwarded.joined(separator: ",").split(separator: ",").suffix(maximumHops)
            return elements.map { element in
                let pairs = element.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                guard let node = pairs.first(where: { $0.lowercased().hasPrefix("for=") }) else { return "" }
                return Self.host(ofNode: String(node.dropFirst(4)))
            }
        }
        let forwardedFor = headers[values: .xForwardedFor].joined(separator: ",")
        return forwardedFor.split(separator: ",").suffix(maximumHops).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// The address of a `Forwarded` node: `192.0.2.1`, `"192.0.2.1:4711"`, `"[2001:db8::1]:4711"`.
    static func host(ofNode node: String) -> String {
        var node = Substring(node)
        if node.hasPrefix("\""), node.hasSuffix("\""), node.count >= 2 { node = node.dropFirst().dropLast() }
        if node.hasPrefix("[") {
            return node.dropFirst().prefix { $0 != "]" }.description
        }
        // IPv4 with a port: one colon. (A bare IPv6 address must be bracketed in Forwarded.)
        if node.filter({ $0 == ":" }).count == 1 { return String(node.prefix { $0 != ":" }) }
        return String(node)
    }
}

extension HTTPField.Name {
    static let forwarded = HTTPField.Name("Forwarded")!
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}
