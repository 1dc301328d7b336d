@_spi(Operations) import MallApplication
import Foundation
import Herald
import Logging

/// What each node does to follow what is stored: the governance rules and the running
/// drill. Every node runs both (the server adds them to its service group), so a change
/// made through any node is in force on all as soon as its announcement arrives
/// (PostgreSQL's NOTIFY; on SQLite only in the process that made it), and within the
/// polling interval and a read whatever happens to the announcement.
extension Mall {
    /// This node's ingress limits, starting from the configured rules (the follower of the
    /// rules puts the stored ones in force).
    ///
    /// - Parameter refused: told of each refusal (the server's metrics count them).
    /// - Throws: `ConfigurationError` for an invalid limit in the configuration.
    public func ingressLimits(refused: @escaping @Sendable (IngressLimits.Refusal) -> Void = { _ in }) throws -> IngressLimits {
        try IngressLimits(configuration, clock: engine.clock, rulesInForce: rulesInForce, refused: refused)
    }

    /// Puts each new version of the stored governance rules in force on `limits`
    /// (``IngressLimits/apply(_:version:)``), until the task is cancelled or the service
    /// group shuts down.
    public func followRules(into limits: IngressLimits, every interval: Duration, logger: Logger) async {
        let governance = governance
        await follow("read the governance rules", topic: GovernanceService.topic, every: interval, logger: logger) {
            let (version, rules) = try await governance.current()
            if version > limits.version {
                try limits.apply(rules, version: version)
                logger.info("governance rules version \(version) in force")
            }
        }
    }

    /// Puts the running fault drill in force on this node's gateway and takes it back when
    /// it ends (the polling also ends a drill whose time is up), until the task is
    /// cancelled or the service group shuts down.
    public func followDrills(_ runner: DrillRunner, every interval: Duration, logger: Logger) async {
        await follow("follow the fault drills", topic: DrillService.topic, every: interval, logger: logger) { try await runner.step() }
    }

    /// Runs `step` at once, then on each announcement of `topic` and at least every
    /// `interval`. A step that fails is logged once per outage, not every time, and the next
    /// is tried as usual.
    private func follow(
        _ what: String, topic: String, every interval: Duration, logger: Logger, _ step: @escaping @Sendable () async throws -> Void
    ) async {
        var failing = false
        await engine.announcements.signal(topic).repeatedly(every: interval, clock: engine.clock) {
            do {
                try await step()
                if failing { logger.info("could \(what) again") }
                failing = false
            } catch {
                if !failing { logger.warning("could not \(what); what is in force stays", metadata: ["error": "\(error)"]) }
                failing = true
            }
        }
    }
}
