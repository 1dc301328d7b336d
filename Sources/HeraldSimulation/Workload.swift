import Herald

/// What a simulation runs: the application on each node, the clients, and the invariants
/// checked at the end. ``HeraldWorkload`` is Herald's own; Mall's lives in a target of its
/// own (`MallSimulation`), so that this one depends on Herald alone.
public protocol Workload: Sendable {
    /// The registry every node's engine decodes with.
    var registry: EventRegistry { get }

    /// Sets up what the clients need (through ``Simulation/store``, say), before any node
    /// starts and without faults.
    func prepare(_ simulation: Simulation) async throws

    /// One node's part, built on its new engine (after each restart too): the service the
    /// node runs and what the clients call on it (``SimulatedNode/handle``).
    func node(engine: HeraldEngine, simulation: Simulation) throws -> (service: HeraldService, handle: any Sendable)

    /// The clients. Faults strike and nodes crash until it returns.
    func drive(_ simulation: Simulation) async

    /// Whether everything the clients started has finished, read behind the faults.
    func settled(_ simulation: Simulation) async -> Bool

    /// Runs `body` (the whole run: every node's tasks start inside it and inherit its task
    /// locals). The default just runs it; a workload that puts a bug back through a task
    /// local sets it here.
    func around(_ body: () async -> Void) async

    /// Checks every invariant after the nodes have stopped, reporting each broken one with
    /// ``Simulation/violate(_:)``. `settled`: whether ``settled(_:)`` came true.
    func check(_ simulation: Simulation, settled: Bool) async
}

extension Workload {
    public func around(_ body: () async -> Void) async { await body() }
}
