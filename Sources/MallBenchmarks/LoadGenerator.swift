import Foundation
import Histogram
import Synchronization

/// Drives `POST /orders` from OS threads, each with its own keep-alive connection.
struct LoadGenerator: Sendable {
    /// The servers' ports; connection `i` goes to `ports[i % ports.count]`.
    let ports: [Int]
    let tokens: [String]
    let skus: [String]

    init(port: Int, tokens: [String], skus: [String]) {
        self.init(ports: [port], tokens: tokens, skus: skus)
    }

    init(ports: [Int], tokens: [String], skus: [String]) {
        (self.ports, self.tokens, self.skus) = (ports, tokens, skus)
    }

    /// The port of connection `worker`.
    func port(_ worker: Int) -> Int { ports[worker % ports.count] }

    func orderBody(_ index: Int) -> [UInt8] {
        let sku = skus[index % skus.count]
        return Array(#"{"lines":[{"sku":"\#(sku)","quantity":1}],"address":{"name":"Bench","phone":"+1 555 0100","line1":"1 Loop Road","city":"Localhost","postcode":"12345"},"paymentMethod":"card","delivery":"standard"}"#.utf8)
    }

    /// Closed loop: `connections` threads place `total` orders between them, each waiting
    /// for its previous response.
    func placeOrders(total: Int, connections: Int) async throws {
        let failure = Mutex<String?>(nil)
        await runThreads(connections) { worker in
            do {
                let connection = try RawHTTPConnection(port: port(worker))
                for index in stride(from: worker, to: total, by: connections) {
                    let (status, body) = try connection.send(method: "POST", path: "/orders", body: orderBody(index), token: tokens[index % tokens.count])
                    guard status == 201 else { throw BenchError("POST /orders answered \(status): \(String(decoding: body, as: UTF8.self))") }
                }
            } catch {
                failure.withLock { $0 = $0 ?? "\(error)" }
            }
        }
        if let message = failure.withLock({ $0 }) { throw BenchError(message) }
    }

    /// One request of a load: what to send and the status that counts as success.
    struct Request: Sendable {
        var method: String
        var path: String
        var body: [UInt8]?
        var token: String?
        var expected: Int
        /// `X-Forwarded-For`: the client's address, for a server that trusts 127.0.0.1 as its proxy.
        var forwardedFor: String? = nil
    }

    /// ``latencyAtFixedRate(rate:seconds:workers:request:)`` of `POST /orders`.
    func latencyAtFixedRate(rate: Double, seconds: Double, workers: Int = 64) async throws -> Histogram<UInt64> {
        try await latencyAtFixedRate(rate: rate, seconds: seconds, workers: workers) { index in
            Request(method: "POST", path: "/orders", body: orderBody(index), token: tokens[index % tokens.count], expected: 201)
        }
    }

    /// Open loop: request i is due at start + i / rate and is sent by the next free worker;
    /// its latency runs from its due time, so waiting for a worker (or for a stalled
    /// server) is counted, never hidden.
    func latencyAtFixedRate(
        rate: Double, seconds: Double, workers: Int = 64, request: @escaping @Sendable (Int) -> Request
    ) async throws -> Histogram<UInt64> {
        let count = Int(rate * seconds)
        let queue = Mutex<[(index: Int, due: ContinuousClock.Instant)]>([])
        let ready = DispatchSemaphore(value: 0)
        let latencies = Mutex<[UInt64]>([])
        let failure = Mutex<String?>(nil)
        let start = ContinuousClock.now + .milliseconds(50)
        await runThreads(workers + 1) { worker in
            if worker == workers {
                // The scheduler: releases each request at its due time.
                for index in 0..<count {
                    let due = start + .nanoseconds(Int64(Double(index) / rate * 1e9))
                    let wait = due - ContinuousClock.now
                    if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.components.attoseconds) / 1e18 + Double(wait.components.seconds)) }
                    queue.withLock { $0.append((index, due)) }
                    ready.signal()
                }
                for _ in 0..<workers { ready.signal() }  // wake everyone to finish
                return
            }
            do {
                let connection = try RawHTTPConnection(port: port(worker))
                while true {
                    ready.wait()
                    guard let job = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { return }
                    let sent = request(job.index)
                    let (status, _) = try connection.send(
                        method: sent.method, path: sent.path, body: sent.body, token: sent.token, forwardedFor: sent.forwardedFor)
                    guard status == sent.expected else { throw BenchError("\(sent.method) \(sent.path) answered \(status)") }
                    let elapsed = ContinuousClock.now - job.due
                    let micros = UInt64(elapsed.components.seconds) * 1_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000_000)
                    latencies.withLock { $0.append(micros) }
                }
            } catch {
                failure.withLock { $0 = $0 ?? "\(error)" }
            }
        }
        if let message = failure.withLock({ $0 }) { throw BenchError(message) }
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        for latency in latencies.withLock({ $0 }) { histogram.record(latency) }
        guard histogram.totalCount == UInt64(count) else { throw BenchError("\(histogram.totalCount) of \(count) requests answered") }
        return histogram
    }

    /// Closed loop: `connections` threads each send their next request as soon as the last
    /// one answers, for `seconds`. Returns the requests answered per second and their
    /// latencies (microseconds).
    func closedLoop(
        connections: Int, seconds: Double, request: @escaping @Sendable (Int) -> Request
    ) async throws -> (rate: Double, latencies: Histogram<UInt64>) {
        let latencies = Mutex<[UInt64]>([])
        let failure = Mutex<String?>(nil)
        let start = ContinuousClock.now
        let end = start + .milliseconds(Int64(seconds * 1000))
        await runThreads(connections) { worker in
            do {
                let connection = try RawHTTPConnection(port: port(worker))
                var mine: [UInt64] = []
                var index = worker
                while ContinuousClock.now < end {
                    let sent = request(index)
                    let began = ContinuousClock.now
                    let (status, _) = try connection.send(method: sent.method, path: sent.path, body: sent.body, token: sent.token)
                    guard status == sent.expected else { throw BenchError("\(sent.method) \(sent.path) answered \(status)") }
                    let elapsed = ContinuousClock.now - began
                    mine.append(UInt64(elapsed.components.seconds) * 1_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000_000))
                    index += connections
                }
                latencies.withLock { $0 += mine }
            } catch {
                failure.withLock { $0 = $0 ?? "\(error)" }
            }
        }
        if let message = failure.withLock({ $0 }) { throw BenchError(message) }
        let elapsed = (ContinuousClock.now - start).seconds
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        let all = latencies.withLock { $0 }
        for latency in all { histogram.record(latency) }
        return (Double(all.count) / elapsed, histogram)
    }

    /// Runs `body(0..<count)` on `count` threads and waits for all of them.
    func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let group = DispatchGroup()
            for worker in 0..<count {
                group.enter()
                let thread = Thread {
                    body(worker)
                    group.leave()
                }
                thread.stackSize = 1 << 20
                thread.start()
            }
            group.notify(queue: .global()) { continuation.resume() }
        }
    }
}
