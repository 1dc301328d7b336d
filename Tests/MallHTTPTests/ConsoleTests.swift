import Foundation
import Herald
@_spi(Operations) import MallApplication
import MallOperations
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
            #expect(overview.contains("<p role=\"alert\" class=\"banner\">FAKE payment gateway in process"), "the fake gateway is announced")
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

    /// Whether `html` holds `text`'s UTF-8 bytes: what the browser parses, not Swift's
    /// `Character`s (where `"` and a combining mark after it are one character).
    static func holds(_ html: String, _ text: String) -> Bool { html.utf8.firstRange(of: text.utf8) != nil }

    /// A subscription that refuses every registration, quoting the member's name in its
    /// error: a handler's error is text from the outside, shown on the dead-letters page.
    struct RefusedRegistration: Error, CustomStringConvertible {
        var name: String
        var description: String { "refused the registration of \(name)" }
    }

    /// User text is escaped wherever the console shows it, byte for byte as the browser reads
    /// it: a product's title, a member's name, an address, an event's payload, a handler's
    /// error, and the order-id field echoing the query. Each attack is a quote followed by a
    /// combining mark (one Swift `Character`, still a quote to the browser) or a tag.
    @Test func userTextIsEscapedWhereverTheConsoleShowsIt() async throws {
        let quick = try RetryPolicy(maxAttempts: 1, baseDelay: .milliseconds(10), maxDelay: .milliseconds(20))
        try await InProcessMall.run(retryPolicy: quick) { client, mall in
            let quoteBreak = "\"\u{301} autofocus onfocus=alert(1) x="
            let title = "Kettle \(quoteBreak) <script>alert('title')</script>"
            let name = "Eve \(quoteBreak) <img src=x onerror=alert('name')>"
            let receiver = "Mallory <b onmouseover=alert('address')>"
            let admin = MallServerProcess.adminToken
            let listed = try await client.send("POST", "/admin/products", json: [
                "sku": "evil-kettle", "title": title, "category": "kitchen", "weightGrams": 900, "price": ["minorUnits": 2500, "currency": "USD"],
            ], token: admin)
            try #require(listed.status == 201, "\(listed.json ?? "")")
            #expect(try await client.send("POST", "/admin/stock/evil-kettle/receipts", json: ["quantity": 5], token: admin).status == 201)
            let email = "eve-\(UUID().uuidString.prefix(8))@example.com"
            let registered = try await client.send("POST", "/members", json: ["email": email, "password": "correct horse", "name": name])
            let eve = try #require(registered.string("id"), "\(registered.json ?? "")")
            let token = try #require(try await client.send("POST", "/sessions", json: ["email": email, "password": "correct horse"]).string("token"))
            var address = MallClient.address
            address["name"] = receiver
            let placed = try await client.send("POST", "/orders", json: [
                "lines": [["sku": "evil-kettle", "quantity": 1]], "address": address, "paymentMethod": "card", "delivery": "standard",
            ], token: token)
            let order = try #require(placed.string("id"), "\(placed.json ?? "")")

            let stop = StopFlag()
            let refusing = Subscription(
                name: "test.refuse-registrations", eventTypes: ["MemberRegistered"], retryPolicy: quick,
                handler: .transactional { delivery, _ in
                    let payload = try JSONSerialization.jsonObject(with: delivery.envelope.payload) as? [String: Any]
                    throw RefusedRegistration(name: payload?["name"] as? String ?? "?")
                })
            let worker = Task { try await mall.engine.worker(for: refusing).run(stop: stop) }
            defer {
                stop.request()
                worker.cancel()
            }
            let cookie = try await Self.signIn(client)

            let orderPage = try await Self.page(client, "/console/orders?id=\(order)", cookie)
            for raw in [quoteBreak, "<script>", "<img src=x", "<b onmouseover"] { #expect(!Self.holds(orderPage, raw), "the order page holds raw \(raw)") }
            for escaped in ["&quot;\u{301} autofocus", "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;", "&lt;img src=x onerror=alert(&#39;name&#39;)&gt;",
                            "Mallory &lt;b onmouseover=alert(&#39;address&#39;)&gt;"] {
                #expect(Self.holds(orderPage, escaped), "the order page shows \(escaped)")
            }

            var registration: Int64 = 0
            try await mall.engine.store.scanLog { batch in
                for event in batch where event.eventType == "MemberRegistered" && event.stream.id == eve { registration = event.position }
            }
            let eventPage = try await Self.page(client, "/console/events/\(registration)", cookie)
            #expect(!Self.holds(eventPage, "<img src=x") && !Self.holds(eventPage, quoteBreak), "the payload is escaped")
            #expect(Self.holds(eventPage, "&lt;img src=x onerror=alert(&#39;name&#39;)&gt;"), "the payload is shown")

            var letters = ""
            try await eventually("the refused registration is a dead letter") {
                letters = try await Self.page(client, "/console/dead-letters", cookie)
                return letters.contains("test.refuse-registrations")
            }
            #expect(!Self.holds(letters, "<img src=x") && !Self.holds(letters, quoteBreak), "the handler's error is escaped")
            let quotedError = "refused the registration of Eve &quot;\u{301} autofocus"
            #expect(Self.holds(letters, quotedError))

            let echoed = try await client.send("GET", "/console/orders?id=%22%CC%81%20autofocus%20x=", headers: cookie)
            let field = String(decoding: echoed.body, as: UTF8.self)
            #expect(echoed.status == 404)
            let breakout = "\"\u{301} autofocus", quotedValue = "value=\"&quot;\u{301} autofocus x=\""
            #expect(!Self.holds(field, breakout), "the order-id field cannot be broken out of")
            #expect(Self.holds(field, quotedValue))
        }
    }
}
