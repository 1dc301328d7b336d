import Foundation
import Testing

/// Sessions end: a member logs out of one (`DELETE /sessions/current`) or all
/// (`DELETE /sessions`), and a log-in past the cap of live sessions ends the oldest.
@Suite struct MemberSessionTests {
    static func logIn(_ client: MallClient, _ email: String) async throws -> String {
        let session = try await client.send("POST", "/sessions", json: ["email": email, "password": "correct horse"])
        try #require(session.status == 201, "log-in: \(session.json ?? "")")
        return try #require(session.string("token"))
    }

    static func works(_ client: MallClient, _ token: String) async throws -> Bool {
        let cart = try await client.send("GET", "/cart", token: token)
        try #require(cart.status == 200 || cart.status == 401, "GET /cart: \(cart.status)")
        return cart.status == 200
    }

    @Test func aLogInPastTheCapEndsTheOldestSessionAndLoggingOutEndsOneOrAll() async throws {
        try await InProcessMall.run(configure: { $0.maxSessionsPerMember = 3 }) { client in
            let email = "ada-\(UUID().uuidString.prefix(8))@example.com"
            #expect(try await client.send("POST", "/members", json: ["email": email, "password": "correct horse", "name": "Ada"]).status == 201)
            var tokens: [String] = []
            for _ in 0..<4 { tokens.append(try await Self.logIn(client, email)) }
            #expect(try await !Self.works(client, tokens[0]), "the fourth log-in ended the oldest of three")
            for token in tokens.dropFirst() { #expect(try await Self.works(client, token)) }

            let loggedOut = try await client.send("DELETE", "/sessions/current", token: tokens[3])
            #expect(loggedOut.status == 204)
            #expect(try await !Self.works(client, tokens[3]), "a logged-out token is refused")
            #expect(try await Self.works(client, tokens[2]), "the member's other sessions go on")
            #expect(try await client.send("DELETE", "/sessions/current", token: tokens[3]).status == 401, "logging out twice: the token is gone")
            #expect(try await client.send("DELETE", "/sessions/current").status == 401, "no token")

            // Another member's sessions are not touched by Ada's log-out everywhere.
            let bob = try await client.member("bob")
            let everywhere = try await client.send("DELETE", "/sessions", token: tokens[2])
            #expect(everywhere.status == 200)
            #expect(everywhere["ended"] as? Int == 2)
            for token in tokens { #expect(try await !Self.works(client, token)) }
            #expect(try await Self.works(client, bob.token))
            #expect(try await client.send("DELETE", "/sessions", token: tokens[2]).status == 401)

            let again = try await Self.logIn(client, email)
            #expect(try await Self.works(client, again), "she logs in again as usual")
        }
    }
}
