import ArgumentParser
import Foundation
import MallApplication
import MallComposition

/// `mall rules get|set|history`: the governance rules, on the database directly; running
/// servers follow a change within a second.
struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules", abstract: "Show, change or list the history of the governance rules (ingress limits).",
        subcommands: [Get.self, Set.self, History.self])

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The rules in force and their version.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let (version, rules) = try await Mall.withMall(try database.configuration(), logger: quietLogger) { try await $0.governance.current() }
            print(version == 0 ? "version 0 (the configuration's rules)" : "version \(version)")
            for (name, value) in rules.settings { print("\(name) \(value)") }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change one rule, e.g. `mall rules set orders.burst 5 --by ops@example.com --reason \"bots at the sale\"`.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The rule (as `mall rules get` names it).") var name: String
        @Argument(help: "Its new value.") var value: String
        @Option(help: "Who changes it.") var by: String
        @Option(help: "Why.") var reason: String

        func run() async throws {
            let (name, value, by, reason) = (name, value, by, reason)
            let (version, changes) = try await Mall.withMall(try database.configuration(), logger: quietLogger) { mall in
                let (current, rules) = try await mall.governance.current()
                let changed = try rules.setting(name, to: value)
                let version = try await mall.governance.set(changed, expectedVersion: current, by: by, reason: reason)
                return (version, changed.changes(from: rules))
            }
            print("version \(version): \(changes.isEmpty ? "no change" : changes.joined(separator: ", "))")
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The latest changes, newest first.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let changes = try await Mall.withMall(try database.configuration(), logger: quietLogger) { try await $0.governance.history() }
            for change in changes {
                print("version \(change.version)  \(change.at.formatted(.iso8601))  by \(change.by): \(change.reason)  "
                    + change.new.changes(from: change.old).joined(separator: ", "))
            }
            print("\(changes.count) change(s)")
        }
    }
}
