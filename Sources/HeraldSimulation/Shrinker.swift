/// Looks for a smaller run of a failing seed that still fails: fewer deposits, clients,
/// nodes and faults, one change at a time, keeping each that still fails with fewer steps,
/// until none does or the budget of runs is spent. A smaller failing run has a shorter
/// trace to read.
public enum Shrinker {
    public static func shrink(
        _ failing: SimulationResult, budget: Int = 40, workload: (SimulationOptions) -> any Workload
    ) -> SimulationResult {
        var best = failing
        var runs = 0
        var improved = true
        while improved && runs < budget {
            improved = false
            for candidate in smaller(than: best.options) where runs < budget {
                runs += 1
                let result = Simulation.run(candidate, workload: workload(candidate))
                if !result.passed && result.steps < best.steps {
                    best = result
                    improved = true
                    break
                }
            }
        }
        return best
    }

    /// The next smaller runs to try, the biggest cuts first.
    static func smaller(than options: SimulationOptions) -> [SimulationOptions] {
        var candidates: [SimulationOptions] = []
        func with(_ change: (inout SimulationOptions) -> Void) {
            var smaller = options
            change(&smaller)
            candidates.append(smaller)
        }
        if options.commandsPerClient > 1 {
            with { $0.commandsPerClient /= 2 }
            with { $0.commandsPerClient -= 1 }
        }
        if options.clients > 1 { with { $0.clients -= 1 } }
        if options.crashes { with { $0.crashes = false } }
        if options.faultScale > 0 {
            with { $0.faultScale = 0 }
            with { $0.faultScale /= 2 }
        }
        if options.nodes > 1 { with { $0.nodes -= 1 } }
        return candidates
    }
}
