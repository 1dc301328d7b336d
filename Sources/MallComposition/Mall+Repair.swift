import Logging
import MallApplication
import MallGateway
import MallOperations
import MallPayment

extension Mall {
    /// Opens the configured store, reconciles it and repairs what is safe
    /// (``Mall/reconcileAndRepair(submittedGrace:settleTimeout:refunds:)``): refunds go
    /// through the payment gateway at ``MallConfiguration/gatewayURL``; without one, none is
    /// made, and the report says so. `mall reconcile --repair`.
    public static func reconcileAndRepair(_ configuration: MallConfiguration, submittedGrace: Duration, logger: Logger) async throws -> RepairReport {
        let gateway: (any PaymentGateway)? = try configuration.gatewayURL.map {
            try HTTPPaymentGateway(baseURL: $0, apiKey: configuration.gatewayAPIKey, settings: .init(timeout: configuration.gatewayTimeout), logger: logger)
        }
        return try await withMall(configuration, logger: logger, gateway: gateway ?? FakeGateway.silent()) {
            try await $0.reconcileAndRepair(submittedGrace: submittedGrace, refunds: gateway != nil)
        }
    }
}
