import Foundation

/// Stops, starts and restarts the throwaway PostgreSQL server `scripts/postgres.sh` started,
/// for tests that rehearse an outage. Only for a server a suite has to itself
/// (`HERALD_POSTGRES_EXCLUSIVE=1`): every other test on it would fail meanwhile.
public enum PostgresServerControl {
    /// Whether this test run has a server of its own to stop and start.
    public static var isExclusive: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["HERALD_POSTGRES_EXCLUSIVE"] == "1" && environment["HERALD_POSTGRES_CTL"] != nil
            && environment["HERALD_SKIP_POSTGRES"] != "1"
    }

    public static func restart() throws { try pgctl(["-m", "fast", "-w", "-t", "60", "restart"]) }

    public static func stop() throws { try pgctl(["-m", "fast", "-w", "-t", "60", "stop"]) }

    /// Starts it again with the options it was first started with.
    public static func start() throws {
        let options = ProcessInfo.processInfo.environment["HERALD_POSTGRES_OPTIONS"] ?? ""
        try pgctl(["-w", "-t", "60", "-o", options, "-l", try setting("HERALD_POSTGRES_DATA") + "/../restarted.log", "start"])
    }

    /// Runs pg_ctl on the server's data directory (as the server's owner when we are root)
    /// and waits for it.
    ///
    /// Through `system(3)`, not Foundation's `Process`: here `Process.waitUntilExit()` never
    /// returned once pg_ctl had exited (its child stayed a zombie, never reaped).
    static func pgctl(_ arguments: [String]) throws {
        let control = try setting("HERALD_POSTGRES_CTL"), data = try setting("HERALD_POSTGRES_DATA")
        let owner = ProcessInfo.processInfo.environment["HERALD_POSTGRES_OWNER"] ?? "postgres"
        let command = (getuid() == 0 ? ["runuser", "-u", owner, "--", control] : [control]) + ["-D", data] + arguments
        let line = command.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let status = system(line + " >/dev/null")
        guard status == 0 else { throw ControlFailed(description: "pg_ctl \(arguments.joined(separator: " ")) failed with status \(status)") }
    }

    static func setting(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw ControlFailed(description: "\(name) is not set: run through scripts/postgres.sh with HERALD_POSTGRES_EXCLUSIVE=1")
        }
        return value
    }

    public struct ControlFailed: Error, CustomStringConvertible {
        public var description: String
    }
}
