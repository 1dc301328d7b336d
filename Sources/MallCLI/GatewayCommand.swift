import ArgumentParser
import Foundation
import MallApp
import MallHTTP
import MallPayment

/// `mall gateway …`: the payment gateway's side of the integration, for walkthroughs,
/// tests and operators.
struct Gateway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The payment gateway's side: sign a callback as the gateway would.", subcommands: [Sign.self])

    struct Sign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the signed JSON body the gateway would POST to /payment-gateway/callbacks for a payment.",
            discussion: """
                Reads the payment (for its amount and currency) and the gateway secret from the database, \
                unless --gateway-secret or MALL_GATEWAY_SECRET gives the secret. The timestamp is now.
                """)

        @OptionGroup var database: DatabaseOptions
        @Option(help: "The payment's id (from POST /orders/{id}/payments).") var payment: String
        @Option(help: "succeeded or failed.") var outcome: GatewayOutcome
        @Option(help: "The gateway secret (MALL_GATEWAY_SECRET); by default the one stored on first start.") var gatewaySecret: String?

        func run() async throws {
            var configuration = try database.configuration()
            if let gatewaySecret { configuration.gatewaySecret = gatewaySecret }
            try configuration.validate()
            let paymentID = payment, outcome = outcome
            let body = try await Mall.withMall(configuration, logger: quietLogger) { mall in
                let payment = try await mall.payments.payment(id: paymentID)
                let signed = try await mall.payments.signedCallback(for: payment, outcome: outcome)
                return try GatewayCallback(signed.report, signature: signed.signature).json()
            }
            say(body)
        }
    }
}

extension GatewayOutcome: ExpressibleByArgument {}
