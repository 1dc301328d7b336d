import ArgumentParser
import Foundation
import MallApplication
import MallComposition
import MallOperations
import MallKernel

/// `mall jobs list|trigger|pause|resume|history`: the recurring jobs, on the database
/// directly; running servers apply a pause, resume or trigger within a second.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "The recurring jobs: their schedules and items, history; pause, resume or trigger one.",
        subcommands: [List.self, Trigger.self, Pause.self, Resume.self, History.self])

    /// Runs `body` with the shop's jobs on `database`.
    static func withJobs<T: Sendable>(_ database: DatabaseOptions, _ body: @escaping @Sendable (JobsControl) async throws -> T) async throws -> T {
        do {
            return try await Mall.withMall(try database.configuration(), logger: quietLogger) { try await body(try $0.jobsControl()) }
        } catch let unknown as NoSuchJob {
            throw ValidationError(unknown.description)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every job: schedule, next fire time, last outcome, items and their owners.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            for job in try await JobsCommand.withJobs(database, { try await $0.status() }) {
                let last = job.lastRun.map { "\($0.outcome) at \($0.endedAt.formatted(.iso8601))" } ?? "never run"
                print("\(job.name)  \(job.schedule)\(job.paused ? "  PAUSED" : "")  next \(job.nextFire?.formatted(.iso8601) ?? "never")  last \(last)")
                for item in job.items {
                    let running = item.runningSince.map { "  running since \($0.formatted(.iso8601))" } ?? ""
                    print("  item \(item.item)\(item.parameter.isEmpty ? "" : " (\(item.parameter))")  owner \(item.owner ?? "none")\(running)")
                }
            }
        }
    }

    /// What pause, resume and trigger share: a job named on the command line, who asks.
    struct Steering: ParsableArguments {
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The job.") var name: String
        @Option(help: "Who asks.") var by: String

        /// Applies `action` to the job and says `done`.
        func apply(_ done: String, _ action: @escaping @Sendable (JobsControl, String, String) async throws -> Void) async throws {
            let (name, by) = (name, try by.validated(field: "--by", maxLength: 100))
            try await JobsCommand.withJobs(database) { try await action($0, name, by) }
            print("job \(name) \(done)")
        }
    }

    struct Trigger: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run every item of a job once now, paused or not.")
        @OptionGroup var job: Steering
        func run() async throws { try await job.apply("triggered") { try await $0.trigger($1, by: $2) } }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pause a job's scheduled runs on every node.")
        @OptionGroup var job: Steering
        func run() async throws { try await job.apply("paused") { try await $0.pause($1, by: $2) } }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a paused job from its next fire time.")
        @OptionGroup var job: Steering
        func run() async throws { try await job.apply("resumed") { try await $0.resume($1, by: $2) } }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A job's latest runs, newest first.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The job.") var name: String
        @Option(help: "How many runs, 1...1000.") var limit = 20

        func run() async throws {
            let (name, limit) = (name, limit)
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be within 1...1000") }
            let runs = try await JobsCommand.withJobs(database) { try await $0.history(name, limit: limit) }
            for run in runs {
                let error = run.error.map { ": \($0)" } ?? ""
                print("\(run.fireTime.formatted(.iso8601))  item \(run.item)  \(run.trigger)  on \(run.node)  \(run.outcome)\(error)")
            }
            print("\(runs.count) run(s)")
        }
    }
}
