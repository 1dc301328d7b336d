import Foundation

/// Runs blocking work — waiting for a child process, reading a pipe to its end — on a thread
/// of its own, never on one of Swift's cooperative pool.
///
/// All test targets run in one process, and on two cores that pool has two threads. A test
/// that blocks them (a `mall serve` taking seconds to shut down, a `mall demo` run to its
/// end) stalls every other test meanwhile: their PostgreSQL clients, timers and polls stop,
/// and a CI run once failed forty tests at once with "no answer from PostgreSQL within 30 s".
public func offThePool<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Swift.Result { try work() }) }
    }
}

extension Process {
    /// Waits for the process to end without holding a cooperative thread.
    public func exit() async {
        let process = UncheckedProcess(process: self)
        _ = try? await offThePool { process.process.waitUntilExit() }
    }

    /// Starts the process with its standard output (and error, unless `errors` is false) in
    /// one pipe, and returns what it wrote once it has ended.
    public func runCapturingOutput(errors: Bool = true) async throws -> String {
        let output = Pipe()
        standardOutput = output
        if errors { standardError = output }
        try run()
        let reader = output.fileHandleForReading
        let data = try await offThePool { reader.readDataToEndOfFile() }
        await exit()
        return String(decoding: data, as: UTF8.self)
    }
}

/// A `Process` handed to the waiting thread; only that thread touches it until it ends.
private struct UncheckedProcess: @unchecked Sendable { let process: Process }
