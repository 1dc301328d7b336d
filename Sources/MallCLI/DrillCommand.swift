import ArgumentParser
import Foundation
import MallApplication
import MallOperations
import MallComposition

/// `mall drill start|stop|status`: fault drills, on the database directly; running servers
/// put a drill in force within a second, and take it back when it ends.
struct DrillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill", abstract: "Rehearse an outage: inject a fault into the payment gateway for a bounded time.",
        subcommands: [Start.self, Stop.self, Status.self])

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a drill, e.g. `mall drill start gateway-down --seconds 60 --by ops@example.com --reason \"game day\"`.",
            discussion: "Kinds: " + DrillKind.allCases.map(\.rawValue).joined(separator: ", ") + ". It ends by itself after --seconds (at most 3600).")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "What to inject.") var kind: DrillKind
        @Option(help: "How long, 1...3600.") var seconds: Double
        @Option(help: "gateway-failing: the share of gateway calls failing, 1...100 percent (default 50).") var failingPercent: Int?
        @Option(help: "Who starts it.") var by: String
        @Option(help: "Why.") var reason: String

        func run() async throws {
            let (kind, seconds, failingPercent, by, reason) = (kind, seconds, failingPercent, by, reason)
            let drill = try await Mall.withMall(try database.configuration(), logger: quietLogger) {
                try await $0.drills.start(kind, seconds: seconds, failingPercent: failingPercent, by: by, reason: reason)
            }
            let share = drill.failingPercent.map { " (\($0)% of calls failing)" } ?? ""
            print("drill \(drill.kind.rawValue)\(share) until \(drill.endsAt.formatted(.iso8601))")
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the running drill now.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let stopped = try await Mall.withMall(try database.configuration(), logger: quietLogger) { try await $0.drills.stop() }
            guard let stopped else {
                print("no drill is running")
                throw ExitCode(1)
            }
            print("drill \(stopped.kind.rawValue) stopped")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The running drill, and the latest ones.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let (active, recent) = try await Mall.withMall(try database.configuration(), logger: quietLogger) { try await $0.drills.status() }
            print(active.map { "running: \($0.kind.rawValue) until \($0.endsAt.formatted(.iso8601)), by \($0.by): \($0.reason)" } ?? "no drill is running")
            for drill in recent {
                let end = drill.stoppedAt.map { "stopped \($0.formatted(.iso8601))" } ?? "until \(drill.endsAt.formatted(.iso8601))"
                print("\(drill.startedAt.formatted(.iso8601))  \(drill.kind.rawValue)  \(end)  by \(drill.by): \(drill.reason)")
            }
        }
    }
}

extension DrillKind: ExpressibleByArgument {}
