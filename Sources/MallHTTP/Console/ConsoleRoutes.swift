import Foundation
import HTTPTypes
import Hummingbird
import MallApplication
import MallOperations
import MallKernel

/// The operator console at `/console`: server-rendered HTML, readable without JavaScript,
/// no front-end build. Sign-in takes the admin token once (a form) and opens a session
/// (``Mall/openConsoleSession(adminToken:)``) whose token the browser keeps in an
/// `HttpOnly`, `SameSite=Strict` cookie limited to `/console`; every form that changes
/// something carries a token derived from it (no request forged by another site passes).
///
/// Pages: an overview (orders per minute on this node, lag per subscription, dead letters,
/// recent failures), subscriptions and projections, dead letters with replay and discard,
/// an order's timeline found by its id, jobs, and the governance rules.
struct ConsoleRoutes {
    let mall: Mall
    let jobs: JobsControl
    let metrics: ServerMetrics?

    static let cookie = "mall_console"

    func routes() -> RouteCollection<MallRequestContext> {
        let routes = RouteCollection(context: MallRequestContext.self)
        routes.get("/console/login") { _, _ in page("Sign in", signedIn: false, Self.loginForm(failed: false)) }
        routes.post("/console/login") { request, context in
            let form = try await context.decodeForm(LoginForm.self, from: request)
            guard form.token.count <= 512, let session = try await mall.openConsoleSession(adminToken: form.token) else {
                return page("Sign in", signedIn: false, Self.loginForm(failed: true), status: .unauthorized)
            }
            let maxAge = Int(Mall.consoleSessionLifetime.components.seconds)
            return Self.redirect("/console", headers: [.setCookie: "\(Self.cookie)=\(session); Path=/console; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)"])
        }
        let signedIn = routes.group("/console").add(middleware: ConsoleAuthentication(mall: mall))
        // Signing out needs no form token: the worst a forged one does is sign the operator out.
        signedIn.post("/logout") { request, _ in
            if let session = request.cookies[Self.cookie]?.value { try await mall.closeConsoleSession(session) }
            return Self.redirect("/console/login", headers: [.setCookie: "\(Self.cookie)=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0"])
        }
        signedIn.get("") { _, context in try await overview(context) }
        signedIn.get("/subscriptions") { _, _ in try await subscriptionsPage() }
        signedIn.get("/dead-letters") { request, context in try await deadLettersPage(context, notice: request.uri.queryParameters["done"].map(String.init)) }
        signedIn.post("/dead-letters") { request, context in
            let form = try await context.decodeForm(DeadLetterForm.self, from: request)
            try context.requireFormToken(form.formToken)
            let selection = DeadLetterSelection(subscription: form.subscription, position: form.position)
            let count = switch form.action {
            case "replay": try await mall.replayDeadLetters(selection)
            case "discard": try await mall.discardDeadLetters(selection)
            default: throw InvalidInput(field: "action", "replay or discard")
            }
            return Self.redirect("/console/dead-letters?done=\(form.action == "replay" ? "replayed" : "discarded")+\(count)")
        }
        signedIn.get("/orders") { request, _ in try await orderPage(request.uri.queryParameters["id"].map(String.init)) }
        signedIn.get("/events/{position}") { _, context in try await eventPage(try context.parameter("position")) }
        signedIn.get("/jobs") { _, _ in try await jobsPage() }
        signedIn.get("/rules") { _, _ in try await rulesPage() }
        return routes
    }

    // MARK: - Pages

    private func overview(_ context: MallRequestContext) async throws -> Response {
        let statuses = try await mall.subscriptionStatuses()
        let parked = try await mall.parkedEvents()
        let dead = parked.filter { $0.status == .dead }.count
        let failures = parked.filter { $0.status == .retrying }.sorted { ($0.lastFailedAt ?? .distantPast) > ($1.lastFailedAt ?? .distantPast) }.prefix(10)
        let perMinute = metrics?.ordersPerMinute(last: 10) ?? []
        let rate: HTML = perMinute.isEmpty
            ? "<p>Not counted: metrics are off on this node (<code>MALL_METRICS</code>).</p>"
            : """
            <table><caption>Orders placed on this node, per minute</caption>
            <thead><tr><th scope="col">Minute (UTC)</th><th scope="col">Orders</th></tr></thead>
            <tbody>\(perMinute.map { minute -> HTML in "<tr><td>\(minute.start.formatted(.iso8601.time(includingFractionalSeconds: false)))</td><td>\(minute.count)</td></tr>" })</tbody></table>
            """
        let lagging = statuses.filter { $0.lag > 0 || $0.retrying > 0 || $0.dead > 0 }
        return page("Overview", """
            <section aria-labelledby="health"><h2 id="health">At a glance</h2>
            <dl>
            <dt>Dead letters</dt><dd><a href="/console/dead-letters">\(dead)</a></dd>
            <dt>Events waiting for another attempt</dt><dd>\(parked.count - dead)</dd>
            <dt>Subscriptions behind</dt><dd><a href="/console/subscriptions">\(lagging.count) of \(statuses.count)</a></dd>
            </dl></section>
            <section aria-labelledby="orders"><h2 id="orders">Orders</h2>\(rate)</section>
            <section aria-labelledby="lag"><h2 id="lag">Lag per subscription</h2>\(Self.statusTable(statuses))</section>
            <section aria-labelledby="failures"><h2 id="failures">Recent failures</h2>
            \(failures.isEmpty ? "<p>None retrying.</p>" : Self.failureTable(Array(failures)))
            </section>
            """)
    }

    private func subscriptionsPage() async throws -> Response {
        page("Subscriptions and projections", Self.statusTable(try await mall.subscriptionStatuses()))
    }

    private func deadLettersPage(_ context: MallRequestContext, notice: String?) async throws -> Response {
        let letters = try await mall.deadLetters()
        let token = context.formToken ?? ""
        let rows = letters.map { letter -> HTML in
            """
            <tr><td>\(letter.subscription)</td><td><a href="/console/events/\(letter.position)">\(letter.position)</a></td><td>\(letter.eventType)</td><td>\(letter.stream)</td>
            <td>\(letter.attempts)</td><td>\(letter.heldBehind)</td><td><code>\(letter.lastError ?? "")</code></td>
            <td><form method="post" action="/console/dead-letters">
            <input type="hidden" name="formToken" value="\(token)"><input type="hidden" name="subscription" value="\(letter.subscription)">
            <input type="hidden" name="position" value="\(letter.position)">
            <button name="action" value="replay">Replay</button> <button name="action" value="discard">Discard</button>
            </form></td></tr>
            """
        }
        let body: HTML = letters.isEmpty ? "<p>No dead letters.</p>" : """
            <table><caption>Dead letters: events a subscription gave up on. Replay gives one a fresh set of attempts; discard drops it and releases what waits behind it.</caption>
            <thead><tr><th scope="col">Subscription</th><th scope="col">Position</th><th scope="col">Event</th><th scope="col">Stream</th>
            <th scope="col">Attempts</th><th scope="col">Held behind</th><th scope="col">Last error</th><th scope="col">Action</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
        let message: HTML = notice.map { "<p role=\"status\">\($0.replacingOccurrences(of: "+", with: " ")).</p>" } ?? ""
        return page("Dead letters", "\(message)\(body)")
    }

    private func orderPage(_ id: String?) async throws -> Response {
        let search: HTML = """
            <form method="get" action="/console/orders" role="search">
            <label for="order-id">Order id</label> <input id="order-id" name="id" value="\(id ?? "")" required maxlength="100" pattern="[A-Za-z0-9_-]+">
            <button>Show its timeline</button></form>
            """
        guard let id, !id.isEmpty else { return page("Order timeline", search) }
        guard id.count <= 100, let timeline = try await mall.timeline(orderID: id) else {
            return page("Order timeline", "\(search)<p role=\"status\">The log holds no event of order <code>\(id)</code>.</p>", status: .notFound)
        }
        let rows = timeline.entries.map { entry -> HTML in
            let event = entry.event
            let by: HTML = entry.recordedBy.map { "\($0.subscription), attempt \($0.attempt)\($0.failingSince.map { ", failing since \($0.formatted(.iso8601))" } ?? "")" } ?? "—"
            let handled: HTML = entry.handledBy.isEmpty ? "—" : "\(entry.handledBy.map { "\($0.subscription) (attempt \($0.attempt))" }.joined(separator: ", "))"
            let problems: HTML = entry.problems.isEmpty ? "" : "\(entry.problems.map { "\($0.subscription): \($0.status) after \($0.attempts) — \($0.lastError ?? "")" }.joined(separator: "; "))"
            return """
                <tr><td><a href="/console/events/\(event.position)">\(event.position)</a></td><td>\(event.recordedAt)</td>
                <td style="padding-left: \(Double(entry.depth) * 1.5 + 0.5)em">\(event.eventType)</td><td>\(event.stream.description)</td>
                <td>\(by)</td><td>\(handled)</td><td>\(problems)</td></tr>
                """
        }
        return page("Order \(id)", """
            \(search)
            \(try await orderSummary(id))
            <table><caption>Order \(id): \(timeline.entries.count) events in causation order (\(timeline.scanned) read from the log)</caption>
            <thead><tr><th scope="col">Position</th><th scope="col">Recorded</th><th scope="col">Event</th><th scope="col">Stream</th>
            <th scope="col">Recorded by</th><th scope="col">Handled by</th><th scope="col">Not done</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """)
    }

    /// One event of the log: its envelope and its payload as stored.
    private func eventPage(_ position: String) async throws -> Response {
        guard let number = Int64(position), let event = try await mall.event(at: number) else {
            return page("Event", "<p role=\"status\">The log holds no event at position <code>\(position)</code>.</p>", status: .notFound)
        }
        let payload = String(decoding: event.payload.prefix(65_536), as: UTF8.self)
        return page("Event \(number)", """
            <dl><dt>Type</dt><dd>\(event.eventType) (schema version \(event.schemaVersion))</dd>
            <dt>Stream</dt><dd>\(event.stream), version \(event.streamVersion)</dd>
            <dt>Recorded</dt><dd>\(event.recordedAt)</dd>
            <dt>Event id</dt><dd><code>\(event.eventID.uuidString)</code></dd>
            <dt>Correlation</dt><dd><code>\(event.correlationID?.uuidString ?? "—")</code></dd></dl>
            <h2>Payload</h2><pre><code>\(payload)</code></pre>
            """)
    }

    /// What `body` returns, or `nil` when it finds nothing (a problem of kind `notFound`).
    private static func unlessNotFound<T>(_ body: () async throws -> T) async throws -> T? {
        do {
            return try await body()
        } catch let problem as any MallProblem where problem.kind == .notFound {
            return nil
        }
    }

    /// The order as it stands: its status, who placed it, where it goes, what is in it.
    /// Empty when the order's own document is gone (its events are still in the log).
    private func orderSummary(_ id: String) async throws -> HTML {
        guard let order = try await Self.unlessNotFound({ try await mall.order(id: id, memberID: nil) }) else { return "" }
        let member = try? await mall.member(id: order.memberId)
        let lines = order.quote.lines.map { line -> HTML in "<li>\(line.quantity) × \(line.title) (<code>\(line.sku)</code>)</li>" }
        return """
            <dl><dt>Status</dt><dd>\(order.status)</dd>
            <dt>Member</dt><dd>\(member.map { "\($0.name) <\($0.email)>" } ?? order.memberId)</dd>
            <dt>Deliver to</dt><dd>\(order.address.name), \(order.address.city)</dd>
            <dt>Lines</dt><dd><ul>\(lines)</ul></dd></dl>
            """
    }

    private func jobsPage() async throws -> Response {
        let rows = try await jobs.status().map { job -> HTML in
            let last: HTML = job.lastRun.map { "\($0.outcome) at \($0.endedAt.formatted(.iso8601))\($0.error.map { ": \($0)" } ?? "")" } ?? "never run"
            let owners = job.items.map { "\($0.item): \($0.owner ?? "nobody")" }.joined(separator: ", ")
            return """
                <tr><td>\(job.name)</td><td><code>\(job.schedule)</code></td><td>\(job.paused ? "paused" : "active")</td>
                <td>\(job.nextFire.map { $0.formatted(.iso8601) } ?? "—")</td><td>\(last)</td><td>\(owners)</td></tr>
                """
        }
        return page("Jobs", """
            <table><caption>Scheduled jobs (steer them with <code>mall jobs</code> or <code>/admin/jobs</code>)</caption>
            <thead><tr><th scope="col">Job</th><th scope="col">Schedule</th><th scope="col">State</th><th scope="col">Next fire</th>
            <th scope="col">Last run</th><th scope="col">Items and owners</th></tr></thead><tbody>\(rows)</tbody></table>
            """)
    }

    private func rulesPage() async throws -> Response {
        let (version, rules) = try await mall.governance.current()
        let switches: [(String, Bool)] = [
            ("Ingress limits", rules.ingressLimits), ("New orders paused", rules.newOrdersPaused), ("Promotions off", rules.promotionsOff),
            ("Coupons deferred", rules.couponsDeferred),
        ]
        let limits: [(String, GovernanceRules.Limit)] = [
            ("Failed log-ins per address", rules.failedLogins), ("Log-ins per address", rules.logins.perAddress),
            ("Failed log-ins per account (new addresses)", rules.logins.failedPerAccount), ("Successful log-ins per account", rules.logins.perAccount),
            ("Registrations per address", rules.registrations), ("Orders per member", rules.orders),
        ]
        return page("Governance rules", """
            <p>Version \(version). Change them with <code>mall rules</code> or <code>PUT /admin/rules</code>; every node follows within a second.</p>
            <table><caption>Switches</caption><thead><tr><th scope="col">Switch</th><th scope="col">State</th></tr></thead>
            <tbody>\(switches.map { name, on -> HTML in "<tr><th scope=\"row\">\(name)</th><td>\(on ? "on" : "off")</td></tr>" })</tbody></table>
            <table><caption>Limits</caption><thead><tr><th scope="col">Limit</th><th scope="col">Per minute</th><th scope="col">Burst</th></tr></thead>
            <tbody>\(limits.map { name, limit -> HTML in "<tr><th scope=\"row\">\(name)</th><td>\(limit.perMinute)</td><td>\(limit.burst)</td></tr>" })</tbody></table>
            <p>Requests in flight at most: \(rules.maxRequestsInFlight).</p>
            """)
    }

    // MARK: - Pieces

    static func statusTable(_ statuses: [SubscriptionStatusView]) -> HTML {
        let rows = statuses.map { status -> HTML in
            "<tr><th scope=\"row\">\(status.name)</th><td>\(status.checkpoint)</td><td>\(status.lag)</td><td>\(status.retrying)</td><td>\(status.held)</td><td>\(status.dead)</td><td>\(status.node ?? "")</td></tr>"
        }
        return """
            <table><caption>Each subscription's and projection's checkpoint, events behind it, events retrying, held behind a failure, or dead, and the node holding a partition</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Checkpoint</th><th scope="col">Lag</th><th scope="col">Retrying</th>
            <th scope="col">Held</th><th scope="col">Dead</th><th scope="col">Node</th></tr></thead><tbody>\(rows)</tbody></table>
            """
    }

    static func failureTable(_ failures: [ParkedEventView]) -> HTML {
        let rows = failures.map { entry -> HTML in
            """
            <tr><td>\(entry.subscription)</td><td>\(entry.eventType)</td><td>\(entry.stream)</td><td>\(entry.attempts)</td>
            <td>\(entry.nextAttemptAt.map { $0.formatted(.iso8601) } ?? "—")</td><td><code>\(entry.lastError ?? "")</code></td></tr>
            """
        }
        return """
            <table><caption>Events waiting for another attempt, latest failure first</caption>
            <thead><tr><th scope="col">Subscription</th><th scope="col">Event</th><th scope="col">Stream</th><th scope="col">Attempts</th>
            <th scope="col">Next attempt</th><th scope="col">Last error</th></tr></thead><tbody>\(rows)</tbody></table>
            """
    }

    static func loginForm(failed: Bool) -> HTML {
        """
        \(failed ? "<p role=\"alert\">That is not the admin token.</p>" : HTML(stringLiteral: ""))
        <form method="post" action="/console/login">
        <label for="token">Admin token</label> <input id="token" name="token" type="password" required autocomplete="current-password" maxlength="512">
        <button>Sign in</button></form>
        """
    }

    static let style = """
        body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fff}header{background:#1b3a57;color:#fff;padding:.5em 1em}
        header a{color:#fff}nav ul{list-style:none;margin:0;padding:0;display:flex;gap:1.2em;flex-wrap:wrap;align-items:center}
        main{padding:1em 1.5em}table{border-collapse:collapse;margin:1em 0;width:100%}caption{text-align:left;font-weight:600;padding:.3em 0}
        th,td{border-bottom:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}code{font-size:.9em;word-break:break-word}
        a:focus,button:focus,input:focus{outline:3px solid #f2a900}dt{font-weight:600}dd{margin:0 0 .5em 0}
        .banner{background:#fde2e1;border:2px solid #b3261e;color:#5c0b07;padding:.5em 1em;font-weight:600}
        """

    /// A page of the console, with a banner over every signed-in page while the payment
    /// gateway is the fake one (payments are not real).
    func page(_ title: String, signedIn: Bool = true, _ body: HTML, status: HTTPResponse.Status = .ok) -> Response {
        let banner: HTML = signedIn && mall.configuration.gatewayURL == nil
            ? "<p role=\"alert\" class=\"banner\">\(MallConfiguration.fakeGatewayWarning)</p>" : ""
        return Self.page(title, signedIn: signedIn, "\(banner)\(body)", status: status)
    }

    static func page(_ title: String, signedIn: Bool = true, _ body: HTML, status: HTTPResponse.Status = .ok) -> Response {
        let navigation: HTML = signedIn ? """
            <nav aria-label="Console"><ul><li><a href="/console">Overview</a></li><li><a href="/console/subscriptions">Subscriptions</a></li>
            <li><a href="/console/dead-letters">Dead letters</a></li><li><a href="/console/orders">Orders</a></li>
            <li><a href="/console/jobs">Jobs</a></li><li><a href="/console/rules">Rules</a></li>
            <li><form method="post" action="/console/logout"><button>Sign out</button></form></li></ul></nav>
            """ : "<p>Mall console</p>"
        let html: HTML = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title) · Mall console</title><style>\(HTML(unescaped: style))</style></head>
            <body><header>\(navigation)</header><main id="main"><h1>\(title)</h1>
            \(body)
            </main></body></html>
            """
        return Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                      HTTPField.Name("Content-Security-Policy")!: "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"],
            body: .init(byteBuffer: ByteBuffer(string: html.text)))
    }

    static func redirect(_ location: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.location] = location
        return Response(status: .seeOther, headers: fields)
    }
}

struct LoginForm: Decodable { var token: String }

struct DeadLetterForm: Decodable {
    var formToken: String
    var subscription: String
    var position: Int64
    var action: String
}

/// Lets through only a browser holding an open console session in its cookie; sends anyone
/// else to the sign-in page. Puts the token forms must carry into the context.
struct ConsoleAuthentication: RouterMiddleware {
    typealias Context = MallRequestContext
    let mall: Mall

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = request.cookies[ConsoleRoutes.cookie]?.value, try await mall.isConsoleSession(token) else {
            return ConsoleRoutes.redirect("/console/login")
        }
        var context = context
        context.caller = .admin
        context.formToken = Mall.consoleFormToken(for: token)
        return try await next(request, context)
    }
}
