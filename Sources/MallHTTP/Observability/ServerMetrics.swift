import Foundation
import Hummingbird
import MallApplication
import MallOperations
import Prometheus
import Synchronization

/// The server's metrics, in Prometheus' text format at `GET /metrics` (behind the admin
/// token, sent as a bearer token: Prometheus' `authorization` setting).
///
/// Each shop owns its metrics (``MallMetrics``, no process-wide bootstrap), so shops in one
/// process, as in tests, count apart. Herald's engine counts into the same ones: commits, their
/// latency and conflicts, events committed by type (orders by outcome), handler calls and
/// failures (``HeraldMetrics``).
///
/// Counted as requests happen (``HTTPMetricsMiddleware``):
/// - `mall_http_requests_total{method, route, status}`: `route` is the route's pattern
///   (`/orders/{id}`), or `NotFound` (Hummingbird's name for no route): a client cannot
///   make a label per path it invents.
/// - `mall_http_request_duration_seconds{method, route}`: a histogram.
///
/// - `mall_ingress_refusals_total{refusal}`: requests refused on the way in, by why:
///   `failed_logins`, `logins`, `failed_logins_per_account`, `logins_per_account`,
///   `registrations`, `orders`, `refused_callbacks` (429) or `overloaded` (shed, 503).
/// - `mall_payment_callbacks_total{result}`: the gateway's callbacks, `applied`,
///   `duplicate` or `refused`.
/// - `mall_payment_starts_total{result}`: payment starts, `started`, `in_doubt` (202) or
///   `unavailable` (503).
///
/// The job scheduler counts through the engine's metrics: `scheduling_job_runs_total{job,
/// outcome}` and `scheduling_job_run_duration_seconds{job}`.
///
/// Read when scraped (``scrape()``), the same figures `/admin/subscriptions`, `/admin/jobs`
/// and `/admin/gateway` show:
/// - `herald_subscription_lag{subscription}`, `herald_subscription_retrying`, `…_held`,
///   `…_dead`: per checkpoint (a subscription, a partition, a projection generation).
/// - `herald_scheduled_messages_pending` and `herald_scheduled_messages_due`: messages
///   waiting for their time, and those whose time has come (a growing number means the
///   scheduler is not keeping up).
/// - `mall_job_last_run_timestamp_seconds{job}` and `mall_job_last_run_succeeded{job}`
///   (1 or 0), for each job that has run.
/// - `mall_circuit_breaker_state{breaker, state}`: 1 for the payment gateway breaker's
///   state on this node (`closed`, `open`, `half-open`), 0 for the others.
/// - `mall_listing_cache_hits_total`, `mall_listing_cache_misses_total` and
///   `mall_listing_cache_pages`: `GET /products` answered from a kept page or rendered, and
///   the pages kept on this node (see `ListingPages`).
public final class ServerMetrics: Sendable {
    /// Where everything is counted (the engine's figures too).
    let metrics: MallMetrics
    public var registry: PrometheusCollectorRegistry { metrics.registry }
    /// The shop whose store figures (lag, scheduled messages, the writer's groups) each scrape reads.
    let mall: Mall
    let jobs: JobsControl
    let listingCache: ListingCache?
    private let refusals: [IngressLimits.Refusal: Prometheus.Counter]

    private struct RequestKey: Hashable {
        var method: String
        var route: String
        var status: Int
    }

    private let requests = Mutex<[RequestKey: (count: Prometheus.Counter, duration: LatencyHistogram)]>([:])
    /// Orders placed (`POST /orders` answered 201) per minute, the last hour, for the console.
    private let orders = Mutex(MinuteCounts(minutes: 60))
    /// The SQLite writer's groups as the last scrape saw them (its counters move by the difference).
    private let writeGroupsSeen = Mutex((transactions: 0, writes: 0))
    /// The listing cache's counts as the last scrape saw them.
    private let listingCacheSeen = Mutex(ListingCache.Counts())

    static var requestsTotal: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "mall", metricName: "http_requests", unitName: "total", helpText: "HTTP requests by method, route and status")
    }
    static var jobLastRunEnded: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "mall", metricName: "job_last_run", unitName: "timestamp_seconds", helpText: "When the job's last run ended")
    }
    static var jobLastRunSucceeded: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "mall", metricName: "job_last_run", unitName: "succeeded", helpText: "Whether the job's last run succeeded (1) or not (0)")
    }

    static func subscriptionGauge(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "herald", subsystem: "subscription", metricName: name, unitName: "", helpText: help)
    }


    static var ingressRefusals: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "mall", subsystem: "ingress", metricName: "refusals", unitName: "total",
            helpText: "Requests refused on the way in: rate limits (429) and load shedding (503)")
    }
    static var paymentCallbacks: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "mall", subsystem: "payment", metricName: "callbacks", unitName: "total",
            helpText: "Payment gateway callbacks by what became of them: applied, duplicate (recorded nothing), refused")
    }
    static var paymentStarts: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "mall", subsystem: "payment", metricName: "starts", unitName: "total",
            helpText: "Payment starts by their answer: started, in_doubt (202: the gateway did not answer), unavailable (503: nothing charged)")
    }
    static var breakerState: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "mall", subsystem: "circuit_breaker", metricName: "state", unitName: "",
            helpText: "1 for the breaker's state on this node, 0 for the others")
    }
    static var sqliteWriteTransactions: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "herald", subsystem: "sqlite", metricName: "write_transactions", unitName: "total",
            helpText: "Transactions of the SQLite store's writer; writes over transactions is the mean group size")
    }
    static var sqliteWrites: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "herald", subsystem: "sqlite", metricName: "writes", unitName: "total",
            helpText: "Writes (commits, checkpoints, leases) the SQLite store's writer committed or failed")
    }
    static func listingCacheCounter(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mall", subsystem: "listing_cache", metricName: name, unitName: "total", helpText: help)
    }
    static var listingCachePages: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "mall", subsystem: "listing_cache", metricName: "pages", unitName: "", helpText: "Rendered GET /products pages kept on this node")
    }
    static func scheduledGauge(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "herald", subsystem: "scheduled_messages", metricName: name, unitName: "", helpText: help)
    }

    /// - Parameter metrics: what the shop's engine counts into, if anything.
    init(mall: Mall, jobs: JobsControl, listingCache: ListingCache?, metrics: MallMetrics?) {
        let metrics = metrics ?? MallMetrics()
        self.metrics = metrics
        let registry = metrics.registry
        self.mall = mall
        self.jobs = jobs
        self.listingCache = listingCache
        refusals = Dictionary(uniqueKeysWithValues: IngressLimits.Refusal.allCases.map { refusal in
            (refusal, registry.makeCounter(descriptor: Self.ingressRefusals, labels: [("refusal", refusal.rawValue)]))
        })
    }

    /// Counts a request refused on the way in.
    func refused(_ refusal: IngressLimits.Refusal) {
        refusals[refusal]?.increment()
    }

    /// What became of a payment gateway callback.
    enum CallbackResult: String {
        /// Applied: the payment settled.
        case applied
        /// A repeat of one applied before: recorded nothing.
        case duplicate
        /// Refused: a bad signature, a stale timestamp, another amount, a contradiction.
        case refused
    }

    /// Counts a payment gateway callback by what became of it.
    func callback(_ result: CallbackResult) {
        registry.makeCounter(descriptor: Self.paymentCallbacks, labels: [("result", result.rawValue)]).increment()
    }

    /// What a member's start of a payment was answered.
    enum PaymentStartResult: String {
        /// The gateway took it (201, or 200 for one started before).
        case started
        /// The gateway was asked and did not answer: the outcome is unknown (202).
        case inDoubt = "in_doubt"
        /// The gateway cannot have acted: down, breaker open, bulkhead full (503).
        case unavailable
    }

    /// Counts a payment start by its answer.
    func paymentStart(_ result: PaymentStartResult) {
        registry.makeCounter(descriptor: Self.paymentStarts, labels: [("result", result.rawValue)]).increment()
    }

    /// Counts one request and its latency.
    func record(method: String, route: String, status: Int, duration: Duration) {
        let key = RequestKey(method: method, route: route, status: status)
        let series = requests.withLock { requests in
            if let existing = requests[key] { return existing }
            let made = (
                count: registry.makeCounter(
                    descriptor: Self.requestsTotal, labels: [("method", method), ("route", route), ("status", String(status))]),
                duration: self.metrics.latencies.histogram("mall_http_request_duration_seconds", labels: [("method", method), ("route", route)]))
            requests[key] = made
            return made
        }
        series.count.increment()
        series.duration.record(duration)
        if status == 201, route == "/orders", method == "POST" { orders.withLock { $0.add(at: Date()) } }
    }

    /// Orders placed on this node in each of the last `count` minutes, oldest first.
    func ordersPerMinute(last count: Int) -> [(start: Date, count: Int)] {
        orders.withLock { $0.last(count, now: Date()) }
    }

    /// Totals kept elsewhere (they only grow), read at a scrape: `read()` now, and what the
    /// last scrape saw, which `seen` then holds. Read under `seen`'s lock, so two scrapes at
    /// once each count what the other did not; read before taking it, the later reading
    /// could be stored first and the other scrape step a counter back.
    private static func advance<Value: Sendable>(_ seen: borrowing Mutex<Value>, reading read: () -> Value) -> (before: Value, now: Value) {
        seen.withLock { seen in
            let now = read()
            defer { seen = now }
            return (seen, now)
        }
    }

    /// The exposition: the store's figures read now, then every metric.
    public func scrape() async throws -> String {
        for status in try await mall.subscriptionStatuses() {
            let labels = [("subscription", status.name)]
            registry.makeGauge(descriptor: Self.subscriptionGauge("lag", "Events in the log after the checkpoint"), labels: labels).set(to: Double(status.lag))
            registry.makeGauge(descriptor: Self.subscriptionGauge("retrying", "Events waiting for another attempt"), labels: labels).set(to: Double(status.retrying))
            registry.makeGauge(descriptor: Self.subscriptionGauge("held", "Events held behind a failed one of their stream"), labels: labels).set(to: Double(status.held))
            registry.makeGauge(descriptor: Self.subscriptionGauge("dead", "Dead letters"), labels: labels).set(to: Double(status.dead))
        }
        let scheduled = try await mall.scheduledMessageCounts()
        registry.makeGauge(descriptor: Self.scheduledGauge("pending", "Scheduled messages waiting for their time")).set(to: Double(scheduled.pending))
        registry.makeGauge(descriptor: Self.scheduledGauge("due", "Scheduled messages whose time has come, not yet delivered")).set(to: Double(scheduled.due))
        if let total = mall.sqliteWriteGroups() {
            let groups = Self.advance(writeGroupsSeen) { total }
            registry.makeCounter(descriptor: Self.sqliteWriteTransactions).increment(by: Int64(groups.now.transactions - groups.before.transactions))
            registry.makeCounter(descriptor: Self.sqliteWrites).increment(by: Int64(groups.now.writes - groups.before.writes))
        }
        if let listingCache {
            let counts = Self.advance(listingCacheSeen) { listingCache.counts }
            registry.makeCounter(descriptor: Self.listingCacheCounter("hits", "GET /products answered with a page kept at the listing's current version"))
                .increment(by: Int64(counts.now.hits - counts.before.hits))
            registry.makeCounter(descriptor: Self.listingCacheCounter("misses", "GET /products that queried the listing and rendered the page"))
                .increment(by: Int64(counts.now.misses - counts.before.misses))
            registry.makeGauge(descriptor: Self.listingCachePages).set(to: Double(listingCache.count))
        }
        if let state = mall.gatewayStatus.breaker {
            for each in GatewayClientStatus.breakerStates {
                registry.makeGauge(descriptor: Self.breakerState, labels: [("breaker", "payment-gateway"), ("state", each)])
                    .set(to: each == state ? 1 : 0)
            }
        }
        for job in try await jobs.status() {
            guard let last = job.lastRun else { continue }
            let labels = [("job", job.name)]
            registry.makeGauge(descriptor: Self.jobLastRunEnded, labels: labels).set(to: last.endedAt.timeIntervalSince1970)
            registry.makeGauge(descriptor: Self.jobLastRunSucceeded, labels: labels).set(to: last.succeeded ? 1 : 0)
        }
        return metrics.exposition()
    }
}

/// Counts every request in ``ServerMetrics``, whatever its outcome: the outermost middleware,
/// so requests shed for load (503) and refused by any other middleware count too.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = MallRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let method = request.method.rawValue
        do {
            let response = try await next(request, context)
            metrics.record(method: method, route: context.endpointPath ?? "NotFound", status: response.status.code, duration: ContinuousClock.now - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.record(method: method, route: context.endpointPath ?? "NotFound", status: status, duration: ContinuousClock.now - start)
            throw error
        }
    }
}

/// Counts per minute over the last `minutes` minutes, in a ring: memory bounded however
/// long the server runs.
struct MinuteCounts {
    private var counts: [Int]
    private var minuteOfSlot: [Int]

    init(minutes: Int) {
        counts = Array(repeating: 0, count: minutes)
        minuteOfSlot = Array(repeating: -1, count: minutes)
    }

    mutating func add(at date: Date) {
        let minute = Int(date.timeIntervalSince1970 / 60), slot = minute % counts.count
        if minuteOfSlot[slot] != minute { (minuteOfSlot[slot], counts[slot]) = (minute, 0) }
        counts[slot] += 1
    }

    /// The counts of the last `count` minutes up to the current one, oldest first.
    func last(_ count: Int, now: Date) -> [(start: Date, count: Int)] {
        let current = Int(now.timeIntervalSince1970 / 60)
        return (0..<min(count, counts.count)).reversed().map { back in
            let minute = current - back, slot = minute % counts.count
            return (Date(timeIntervalSince1970: Double(minute * 60)), minuteOfSlot[slot] == minute ? counts[slot] : 0)
        }
    }
}
