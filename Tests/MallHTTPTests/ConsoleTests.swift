import Foundation
import Herald
import MallApp
import Testing
import TestSupport

/// The operator console: server-rendered pages behind the admin token, kept in a cookie
/// after signing in; forms that change something need the page's form token.
@Suite struct ConsoleTests {
    static func form(_ fields: [String: String]) -> Data {
        var components = URLComponents()
        components.queryItems = fields.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
        return Data((components.percentEncodedQuery ?? "").utf8)
    }

    static let formHeaders = ["Content-Type": "application/x-www-form-urlencoded"]

    /// Signs in with the admin token; returns the cookie header to send.
    static func signIn(_ client: MallClient) async throws -> [String: String] {
        let signedIn = try await client.send("POST", "/console/login", raw: form(["token": MallServerProcess.adminToken]), headers: formHeaders)
        #expect(signedIn.status == 303)
        #expect(signedIn.headers["location"] == "/console")
        let cookie = try #require(signedIn.headers["set-cookie"])
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/console"))
        return ["Cookie": String(cookie.split(separator: ";")[0])]
    }

    static func page(_ client: MallClient, _ path: String, _ cookie: [String: String]) async throws -> String {
        let page = try await client.send("GET", path, headers: cookie)
        try #require(page.status == 200, "\(path): \(page.status)")
        #expect(page.contentType == "text/html; charset=utf-8")
        return String(decoding: page.body, as: UTF8.self)
    }

    @Test func signingInTakesTheAdminTokenOnceAndEveryPageNeedsIt() async throws {
        try await InProcessMall.run { client, _ in
            let anonymous = try await client.send("GET", "/console")
            #expect(anonymous.status == 303 && anonymous.headers["location"] == "/console/login")
            #expect(try await client.send("GET", "/console/dead-letters", headers: ["Cookie": "mall_console=guess"]).status == 303)
            let refused = try await client.send("POST", "/console/login", raw: Self.form(["token": "guess"]), headers: Self.formHeaders)
            #expect(refused.status == 401)
            #expect(String(decoding: refused.body, as: UTF8.self).contains("role=\"alert\""))
            #expect(refused.headers["set-cookie"] == nil)

            let cookie = try await Self.signIn(client)
            let overview = try await Self.page(client, "/console", cookie)
            #expect(overview.contains("<html lang=\"en\">") && overview.contains("<main id=\"main\">") && overview.contains("<h1>Overview</h1>"))
            #expect(overview.contains("inventory.reservations"), "lag per subscription")
            for path in ["/console/subscriptions", "/console/dead-letters", "/console/orders", "/console/jobs", "/console/rules"] {
                let html = try await Self.page(client, path, cookie)
                #expect(html.contains("<nav aria-label=\"Console\">"), "\(path)")
            }
            #expect(cookie["Cookie"]?.contains(MallServerProcess.adminToken) == false, "the browser keeps a session, not the admin token")
            let signedOut = try await client.send("POST", "/console/logout", headers: cookie)
            #expect(signedOut.status == 303 && signedOut.headers["set-cookie"]?.contains("Max-Age=0") == true)
            let closed = try await client.send("GET", "/console", headers: cookie)
            #expect(closed.status == 303 && closed.headers["location"] == "/console/login", "a signed-out session no longer opens the console")
        }
    }

    @Test func aDeadLetterIsReplayedFromItsPageAndAFormWithoutItsTokenIsRefused() async throws {
        let quick = try RetryPolicy(maxAttempts: 1, baseDelay: .milliseconds(10), maxDelay: .milliseconds(20))
        try await InProcessMall.run(retryPolicy: quick) { client, mall in
            let member = try await client.member("ada")
            let mend = try await mall.engine.store.damage(StreamID(type: "Stock", id: "teapot"), with: #"{"id":"<script>alert(1)</script>"#)
            let id = try #require(try await client.placeOrder(member.token, [("teapot", 1)]).string("id"))
            let cookie = try await Self.signIn(client)
            var html = ""
            try await eventually("the dead letter is listed") {
                html = try await Self.page(client, "/console/dead-letters", cookie)
                return html.contains("inventory.reservations")
            }
            #expect(!html.contains("<script>"), "what the store holds is escaped")
            let token = try #require(html.firstMatch(of: /name="formToken" value="([0-9a-f]{64})"/)?.1)
            let position = try #require(html.firstMatch(of: /name="position" value="(\d+)"/)?.1)
            let fields = ["subscription": "inventory.reservations", "position": String(position), "action": "replay"]

            let forged = try await client.send("POST", "/console/dead-letters", raw: Self.form(fields.merging(["formToken": "0"]) { $1 }), headers: cookie.merging(Self.formHeaders) { $1 })
            #expect(forged.status == 403)
            #expect(try await mall.engine.deadLetters.list().count == 1, "nothing replayed")

            try await mend()
            let replayed = try await client.send("POST", "/console/dead-letters", raw: Self.form(fields.merging(["formToken": String(token)]) { $1 }), headers: cookie.merging(Self.formHeaders) { $1 })
            #expect(replayed.status == 303)
            try await client.waitForOrder(id, token: member.token, status: "awaitingPayment")
            #expect(try await Self.page(client, "/console/dead-letters?done=replayed+1", cookie).contains("replayed 1"))

            let timeline = try await Self.page(client, "/console/orders?id=\(id)", cookie)
            #expect(timeline.contains("StockReserved") && timeline.contains("inventory.reservations, attempt 1, failing since"), "the recovery shows")
            let missing = try await client.send("GET", "/console/orders?id=o-nosuch", headers: cookie)
            #expect(missing.status == 404)
        }
    }
}
