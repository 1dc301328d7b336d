import CoreMetrics
import Foundation
import Herald
import Prometheus
import Synchronization

/// What a shop counts and times, for its server's `GET /metrics` (Prometheus' text
/// format): counters and gauges in a swift-prometheus registry, latencies in
/// ``LatencyHistograms`` of Mall's own. ``factory`` is what the engine counts through.
///
/// Why latencies are not swift-prometheus's: its `Histogram<Value>` is generic across
/// modules, so each observation walks the buckets through protocol witnesses and runtime
/// metadata lookups. With some thirty observations per order that cost the server several
/// percent of its CPU (`mall-bench --metrics`); these record into plain integers.
public struct MallMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let latencies: LatencyHistograms

    public init() {
        registry = PrometheusCollectorRegistry()
        latencies = LatencyHistograms()
    }

    /// swift-metrics' entry point: counters, gauges and recorders into ``registry``, timers
    /// into ``latencies``.
    public var factory: any MetricsFactory { Factory(prometheus: PrometheusMetricsFactory(registry: registry), latencies: latencies) }

    /// The exposition: every metric.
    public func exposition() -> String { registry.emitToString() + latencies.exposition() }

    struct Factory: MetricsFactory {
        let prometheus: PrometheusMetricsFactory
        let latencies: LatencyHistograms

        func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
            prometheus.makeCounter(label: label, dimensions: dimensions)
        }
        func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
            prometheus.makeFloatingPointCounter(label: label, dimensions: dimensions)
        }
        func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
            prometheus.makeMeter(label: label, dimensions: dimensions)
        }
        func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
            prometheus.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
        }
        func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
            latencies.histogram(label, labels: dimensions)
        }
        func destroyCounter(_ handler: any CounterHandler) { prometheus.destroyCounter(handler) }
        func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { prometheus.destroyFloatingPointCounter(handler) }
        func destroyMeter(_ handler: any MeterHandler) { prometheus.destroyMeter(handler) }
        func destroyRecorder(_ handler: any RecorderHandler) { prometheus.destroyRecorder(handler) }
        func destroyTimer(_ handler: any TimerHandler) {}
    }
}

/// Latency histograms by name and labels, with one set of buckets from 1 ms to 10 s.
public final class LatencyHistograms: Sendable {
    /// Upper bounds, in nanoseconds: a page, an order, a slow dependency.
    public static let bounds: [Int64] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10_000].map { Int64($0 * 1_000_000) }

    private struct Key: Hashable {
        var name: String
        var labels: [String]
    }

    private let series = Mutex<[Key: LatencyHistogram]>([:])

    public init() {}

    /// The histogram `name{labels}`, made on first use.
    public func histogram(_ name: String, labels: [(String, String)]) -> LatencyHistogram {
        let key = Key(name: name, labels: labels.flatMap { [$0.0, $0.1] })
        return series.withLock { series in
            if let existing = series[key] { return existing }
            let made = LatencyHistogram(name: name, labels: labels)
            series[key] = made
            return made
        }
    }

    /// Each histogram in Prometheus' text format: cumulative `_bucket` lines with `le`
    /// in seconds, then `_sum` (seconds) and `_count`; one `# TYPE` line per name.
    public func exposition() -> String {
        let all = series.withLock { Array($0.values) }.sorted { ($0.name, $0.labelText) < ($1.name, $1.labelText) }
        var text = "", typed: Set<String> = []
        for histogram in all {
            if typed.insert(histogram.name).inserted { text += "# TYPE \(histogram.name) histogram\n" }
            text += histogram.exposition()
        }
        return text
    }
}

/// One latency histogram: a count per bucket, the sum and the count, under one lock.
public final class LatencyHistogram: TimerHandler, Sendable {
    let name: String
    let labelText: String
    private let state: Mutex<(buckets: [UInt64], sum: Int64, count: UInt64)>

    init(name: String, labels: [(String, String)]) {
        self.name = name
        labelText = labels.map { "\($0.0)=\"\(Self.escaped($0.1))\"" }.joined(separator: ",")
        state = Mutex((Array(repeating: 0, count: LatencyHistograms.bounds.count + 1), 0, 0))
    }

    public func recordNanoseconds(_ duration: Int64) {
        let bucket = LatencyHistograms.bounds.firstIndex { duration <= $0 } ?? LatencyHistograms.bounds.count
        state.withLock { state in
            state.buckets[bucket] += 1
            state.sum &+= duration
            state.count += 1
        }
    }

    public func record(_ duration: Duration) {
        recordNanoseconds(duration.nanoseconds)
    }

    func exposition() -> String {
        let (buckets, sum, count) = state.withLock { ($0.buckets, $0.sum, $0.count) }
        let prefix = labelText.isEmpty ? "" : labelText + ","
        var text = "", cumulative: UInt64 = 0
        for (index, bound) in LatencyHistograms.bounds.enumerated() {
            cumulative += buckets[index]
            text += "\(name)_bucket{\(prefix)le=\"\(Double(bound) / 1e9)\"} \(cumulative)\n"
        }
        let braces = labelText.isEmpty ? "" : "{\(labelText)}"
        text += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(count)\n"
        text += "\(name)_sum\(braces) \(Double(sum) / 1e9)\n"
        text += "\(name)_count\(braces) \(count)\n"
        return text
    }

    private static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
