import Foundation
import Testing
import TestSupport

/// The HTTP API under a database outage: every request gets 503 problem+json with
/// `Retry-After` (never a 500, never a hang), readiness says so, and all is well again once
/// the database is back. Stops the PostgreSQL server, so it needs one of its own.
@Suite(.enabled(if: PostgresServerControl.isExclusive && Backend.postgresURL != nil, "needs a PostgreSQL server of its own (HERALD_POSTGRES_EXCLUSIVE=1)"))
struct StoreOutageTests {
    @Test func whilePostgreSQLIsDownRequestsGet503WithRetryAfterAndReadinessRecovers() async throws {
        let server = MallServerProcess(backend: .postgres(url: Backend.postgresURL))
        try await server.start()
        defer { server.terminate() }
        let client = MallClient(baseURL: server.baseURL)
        let ada = try await client.member("ada")
        #expect(try await client.send("GET", "/health/ready").status == 200)

        try PostgresServerControl.stop()
        do {
            let requests: [(String, String, [String: Any]?, String?)] = [
                ("GET", "/health/ready", nil, nil),
                ("GET", "/products", nil, nil),
                ("GET", "/products/teapot", nil, nil),
                ("POST", "/members", ["email": "bob@example.com", "password": "correct horse", "name": "Bob"], nil),
                ("GET", "/orders", nil, ada.token),
            ]
            for (method, path, body, token) in requests {
                let started = Date()
                let result = try await client.send(method, path, json: body, token: token)
                #expect(result.status == 503, "\(method) \(path) while the database is down: \(result.json ?? "")")
                #expect(result.contentType == "application/problem+json", "\(method) \(path)")
                #expect(result.headers["retry-after"] == "1", "\(method) \(path)")
                // Bounded by the store's operation timeout (5 s), not a hang; generous for a loaded machine.
                #expect(Date().timeIntervalSince(started) < 30, "\(method) \(path) answered in bounded time")
            }
        } catch {
            try? PostgresServerControl.start()
            throw error
        }
        try PostgresServerControl.start()

        try await eventually("ready again once the database is back", every: .milliseconds(100)) {
            try await client.send("GET", "/health/ready").status == 200
        }
        #expect(try await client.send("GET", "/orders", token: ada.token).status == 200)
        #expect(try await client.send("POST", "/members", json: ["email": "bob@example.com", "password": "correct horse", "name": "Bob"]).status == 201)
        #expect(!server.log.contains("request failed"), "no request failed with a 500:\n\(server.log)")
    }
}
