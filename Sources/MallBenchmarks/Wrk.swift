import Foundation

/// Closed-loop HTTP probes run by `wrk` (one thread, epoll, C), when it is installed.
///
/// On two cores the load generator shares with the server, its own cost decides much of the
/// latency measured: ``LoadGenerator`` blocks one OS thread per connection and parses each
/// response in Swift, and with it `GET /health/live` at 32 connections served 6,200–7,300
/// requests/s at p99 9.6–11.0 ms; with `wrk` 10,200–12,700 at 7.2–7.8 ms (same machine,
/// same build, BENCHMARKS.md).
/// `wrk` is what the issues measured with (Debian package `wrk`); without it the probes
/// fall back to ``LoadGenerator`` and say so.
enum Wrk {
    /// `wrk` on the `PATH`, if any.
    static let executable: String? = {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/wrk"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()

    struct Outcome {
        var rate: Double
        /// Microseconds.
        var p50: Double
        var p99: Double
    }

    /// `connections` connections on one `wrk` thread, each sending `paths` in turn (GET) as
    /// soon as its last answer came, for `seconds` (rounded to whole seconds, at least 1).
    ///
    /// - Throws: ``BenchError`` when `wrk` fails or any answer was not 2xx/3xx.
    static func closedLoop(_ executable: String, port: Int, connections: Int, seconds: Double, paths: [String]) throws -> Outcome {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mall-bench-wrk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let script = directory.appendingPathComponent("probe.lua")
        let quoted = paths.map { "\"\($0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\"" }
        try """
            local paths = { \(quoted.joined(separator: ", ")) }
            local next = 0
            request = function()
              next = next + 1
              return wrk.format("GET", paths[(next - 1) % #paths + 1])
            end
            done = function(summary, latency, requests)
              local e = summary.errors
              io.write(string.format("probe %d %d %d %d %d\\n", summary.requests, summary.duration,
                latency:percentile(50), latency:percentile(99), e.status + e.connect + e.read + e.write + e.timeout))
            end
            """.write(to: script, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "-t1", "-c\(connections)", "-d\(max(1, Int(seconds.rounded())))s", "--timeout", "30s", "-s", script.path, "http://127.0.0.1:\(port)",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let line = text.split(separator: "\n").last(where: { $0.hasPrefix("probe ") }),
              case let fields = line.split(separator: " ").dropFirst().compactMap({ Double($0) }), fields.count == 5
        else { throw BenchError("wrk failed (status \(process.terminationStatus)): \(text.suffix(2000))") }
        guard fields[4] == 0 else { throw BenchError("wrk: \(Int(fields[4])) requests failed or answered other than 2xx/3xx: \(text.suffix(2000))") }
        return Outcome(rate: fields[0] / (fields[1] / 1_000_000), p50: fields[2], p99: fields[3])
    }
}
