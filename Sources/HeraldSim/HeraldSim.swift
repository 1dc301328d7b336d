import ArgumentParser
import Foundation
import Herald
import HeraldSimulation
import MallSimulation

/// `herald-sim`: runs seeds of Herald's deterministic simulation and reports each failing
/// one with the command that replays it.
@main
struct HeraldSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald-sim",
        abstract: "Runs Herald on simulated nodes with faults drawn from seeds, and checks its guarantees after each.",
        discussion: """
            Every run is decided by its seed: the order tasks run in, the faults, the crashes, \
            the clocks. A failing seed is printed with the command that replays it (--seed) and \
            the end of its trace, after a search for a smaller run of the same seed that still fails.
            """)

    @Option(help: "How many seeds to run.") var seeds = 100
    @Option(help: "The first seed.") var from: UInt64 = 1
    @Option(help: "Replay one seed, printing its whole kept trace.") var seed: UInt64?
    @Option(help: "Nodes running at once (default: 1 to 4, drawn from each seed).") var nodes: Int?
    @Option(help: "Clients depositing at once.") var clients = 3
    @Option(help: "Deposits per client.") var commands = 8
    @Flag(help: "No node crashes.") var noCrashes = false
    @Option(help: "Multiplies every fault's probability (0: none).") var faultScale = 1.0
    @Option(help: "The workload: \(Workloads.names.joined(separator: " or ")).") var workload = "herald"
    @Option(help: "Put a known bug back (\(Workloads.bugs.map(\.rawValue).joined(separator: ", "))).")
    var bug: [ReintroducedBug] = []
    @Flag(help: "Stop at the first failing seed.") var stopAtFirst = false
    @Option(help: "Jobs a run may take before it counts as stuck.") var maxSteps = 5_000_000
    @Flag(help: "Print each seed's trace hash.") var hashes = false
    @Option(help: "Trace lines to show around a failure.") var traceLines = 60

    mutating func validate() throws {
        guard Workloads.names.contains(workload) else { throw ValidationError("--workload: one of \(Workloads.names.joined(separator: ", "))") }
        for bug in bug where !Workloads.bugs.contains(bug) {
            throw ValidationError("--bug \(bug.rawValue): one of \(Workloads.bugs.map(\.rawValue).joined(separator: ", "))")
        }
    }

    mutating func run() throws {
        Self.makeHashingDeterministic()
        if let seed {
            let result = Self.simulate(options(seed: seed, traceLines: 4_000))
            for (number, line) in result.trace { print(String(format: "%7d ", number) + line) }
            print(summary(of: result))
            if !result.passed { throw ExitCode(1) }
            return
        }
        let start = ContinuousClock.now
        var failures: [UInt64] = []
        var faults: [String: Int] = [:]
        var steps = 0
        for (index, seed) in (from..<from + UInt64(seeds)).enumerated() {
            let result = Self.simulate(options(seed: seed, traceLines: traceLines))
            steps += result.steps
            faults.merge(result.faults, uniquingKeysWith: +)
            if hashes { print("seed \(seed) hash \(String(result.traceHash, radix: 16))") }
            if !result.passed {
                failures.append(seed)
                report(result, seedsRun: index + 1)
                if stopAtFirst { break }
            }
            if (index + 1) % 100 == 0 || index + 1 == seeds {
                print("herald-sim: \(index + 1)/\(seeds) seeds, \(failures.count) failing, \(formatted(ContinuousClock.now - start))")
            }
        }
        let kinds = faults.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("herald-sim: seeds \(from)...\(from + UInt64(seeds) - 1): \(failures.count) failing\(failures.isEmpty ? "" : " (\(failures.map(String.init).joined(separator: ", ")))"); \(steps) steps; faults: \(kinds); \(formatted(ContinuousClock.now - start))")
        if !failures.isEmpty { throw ExitCode(1) }
    }

    func options(seed: UInt64, traceLines: Int) -> SimulationOptions {
        var options = SimulationOptions(seed: seed)
        // One node and many find different bugs (seed 4 on one node found a checkpoint that
        // stood still for good; three nodes hid it): without --nodes each seed draws its own.
        options.nodes = nodes ?? 1 + Int(SeededRandomSource(seed: seed ^ 0x6E6F_6465).next() % 4)
        options.clients = clients
        options.commandsPerClient = commands
        options.crashes = !noCrashes
        options.faultScale = faultScale
        options.bugs = Set(bug)
        options.workload = workload
        options.maxSteps = maxSteps
        options.traceLines = traceLines
        return options
    }

    /// A failing seed: what broke, the command that replays it, and the smallest run of the
    /// same seed found that still fails, with the end of its trace.
    func report(_ result: SimulationResult, seedsRun: Int) {
        print("FAILED: seed \(result.options.seed) (the \(seedsRun)th run)")
        for violation in result.violations.prefix(10) { print("  - \(violation)") }
        print("  replay: swift run herald-sim \(arguments(for: result.options))")
        let smallest = Shrinker.shrink(result, workload: Workloads.make)
        if smallest.options != result.options {
            print("  smaller run that still fails (\(smallest.steps) steps instead of \(result.steps)):")
            for violation in smallest.violations.prefix(3) { print("  - \(violation)") }
            print("  replay: swift run herald-sim \(arguments(for: smallest.options))")
        }
        print("  its trace, last \(smallest.trace.count) lines:")
        for (number, line) in smallest.trace { print(String(format: "  %7d ", number) + line) }
    }

    func arguments(for options: SimulationOptions) -> String {
        var words = ["--workload \(options.workload)", "--seed \(options.seed)", "--nodes \(options.nodes)", "--clients \(options.clients)", "--commands \(options.commandsPerClient)"]
        if !options.crashes { words.append("--no-crashes") }
        if options.faultScale != 1 { words.append("--fault-scale \(options.faultScale)") }
        for bug in options.bugs.sorted() { words.append("--bug \(bug.rawValue)") }
        return words.joined(separator: " ")
    }

    func summary(of result: SimulationResult) -> String {
        let faults = result.faults.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let verdict = result.passed ? "passed" : "FAILED:\n" + result.violations.map { "  - \($0)" }.joined(separator: "\n")
        return "seed \(result.options.seed): \(result.steps) steps, \(Int(result.simulatedSeconds)) simulated seconds, trace hash \(String(result.traceHash, radix: 16)); faults: \(faults); \(verdict)"
    }

    static func simulate(_ options: SimulationOptions) -> SimulationResult {
        Simulation.run(options, workload: Workloads.make(options))
    }

    func formatted(_ duration: Duration) -> String { String(format: "%.1f s", duration.timeInterval) }

    /// Swift seeds its hashing per process (and per dictionary), so a dictionary's order, and
    /// with it a run, would differ between two processes given the same seed. The runtime
    /// reads `SWIFT_DETERMINISTIC_HASHING` only at start: set it and start again.
    static func makeHashingDeterministic() {
        guard getenv("SWIFT_DETERMINISTIC_HASHING") == nil else { return }
        setenv("SWIFT_DETERMINISTIC_HASHING", "1", 1)
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", arguments)
        FileHandle.standardError.write(Data("herald-sim: could not restart with deterministic hashing: \(String(cString: strerror(errno)))\n".utf8))
        Foundation.exit(2)
    }
}

extension ReintroducedBug: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
}

/// The workloads `--workload` names, and the bugs each can put back.
enum Workloads {
    static let names = ["herald", "mall"]
    static let bugs = ReintroducedBug.herald + ReintroducedBug.mall

    static func make(_ options: SimulationOptions) -> any Workload {
        switch options.workload {
        case "mall": MallWorkload(options: options)
        default: HeraldWorkload(options: options)
        }
    }
}
