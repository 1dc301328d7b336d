@_spi(Operations) import MallApplication
import MallGateway
import Resilience

/// The payment gateway's client as this node sees it: where it calls, its breaker, the
/// settings in force (the `gateway` rule). Empty for a gateway called in process (tests,
/// `mall demo`).
public struct GatewayClientStatus: Sendable, Hashable {
    public var url: String?
    /// `closed`, `open` or `half-open`.
    public var breaker: String?
    public var settings: GovernanceRules.GatewayCalls?

    /// Every state a breaker can be in, by name (for a gauge per state).
    public static let breakerStates = [CircuitBreakerMachine.State.closed, .open, .halfOpen].map(\.rawValue)
}

extension Mall {
    /// The payment gateway's client on this node.
    public var gatewayStatus: GatewayClientStatus {
        guard let client = gateway as? HTTPPaymentGateway else { return GatewayClientStatus() }
        return GatewayClientStatus(
            url: client.baseURL, breaker: client.breaker.state.rawValue, settings: GovernanceRules.GatewayCalls(client.settings))
    }
}
