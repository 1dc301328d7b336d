import ArgumentParser
import Foundation
import Logging
import MallApplication
import MallComposition
import MallGateway
import MallHTTP
import MallPayment

/// `mall gateway …`: the payment gateway's side of the integration, for walkthroughs,
/// tests and operators.
struct Gateway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The payment gateway's side: run the fake gateway, or sign a callback as the gateway would.",
        subcommands: [Serve.self, Sign.self])

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the fake payment gateway: Mall's payments and refunds go to it, it sends signed callbacks back.",
            discussion: """
                Point Mall at it with `mall serve --gateway-url http://HOST:PORT` and give both the same secret and API key. \
                Every API call needs the key (`Authorization: Bearer KEY`). Its knobs change while it runs: \
                `curl -XPUT http://HOST:PORT/v1/knobs -H "Authorization: Bearer $KEY" -d '{"outage":true}'` \
                (latencyMs, failureRate, outage, declineRate, callbacks, callbackDelayMs, duplicateCallbacks).
                """)

        @Option(help: "Address to listen on.") var host = "127.0.0.1"
        @Option(help: "Port to listen on, 0 for any free port.") var port = 8090
        @Option(help: "Where callbacks go: Mall's callback URL.") var callbackURL = "http://127.0.0.1:8080/payment-gateway/callbacks"
        @Option(help: "The secret callbacks are signed with (MALL_GATEWAY_SECRET), at least 16 bytes: the one Mall has.") var secret: String?
        @Option(help: "A file whose first line is that secret (MALL_GATEWAY_SECRET_FILE).") var secretFile: String?
        @Option(help: "A file whose first line is the merchant's API key every call must carry (MALL_GATEWAY_API_KEY_FILE, or MALL_GATEWAY_API_KEY), at least 16 bytes.")
        var apiKeyFile: String?
        @Option(help: "The gateway's ledger of payments and refunds, kept across restarts.") var state = "mall-gateway.json"
        @Option(help: "Milliseconds added before every answer.") var latencyMs = 0
        @Option(help: "Share of calls answered 500, 0...1.") var failureRate = 0.0
        @Option(help: "Share of payments declined, 0...1.") var declineRate = 0.0
        @Option(help: "Milliseconds before a payment's callback.") var callbackDelayMs = 200
        @Flag(help: "Answer every call 503.") var outage = false
        @Flag(help: "Send every callback twice.") var duplicateCallbacks = false
        @Flag(help: "Send no callbacks (sign them with `mall gateway sign`).") var noCallbacks = false

        func run() async throws {
            let configuration = try MallConfiguration.fromEnvironment()
            let secret = try secretFile.map { try MallConfiguration.secret(fromFile: $0, setting: "--secret-file") } ?? secret ?? configuration.gatewaySecret
            guard let secret, secret.utf8.count >= 16 else {
                throw ValidationError("--secret-file (or MALL_GATEWAY_SECRET) must be given, at least 16 bytes: the secret Mall verifies callbacks with")
            }
            let apiKey = try apiKeyFile.map { try MallConfiguration.secret(fromFile: $0, setting: "--api-key-file") } ?? configuration.gatewayAPIKey
            guard let apiKey, apiKey.utf8.count >= 16 else {
                throw ValidationError("--api-key-file (or MALL_GATEWAY_API_KEY) must be given, at least 16 bytes: the key Mall calls with")
            }
            var knobs = GatewayKnobs()
            knobs.latencyMs = latencyMs
            knobs.failureRate = failureRate
            knobs.declineRate = declineRate
            knobs.callbackDelayMs = callbackDelayMs
            knobs.outage = outage
            knobs.duplicateCallbacks = duplicateCallbacks
            knobs.callbacks = !noCallbacks
            let logger = Logger(label: "mall-gateway", factory: { ServerLogHandler(label: $0, format: .text) })
            let gateway = try FakeGateway(knobs: knobs, statePath: state, secret: secret, callbackURL: callbackURL, logger: logger)
            let host = host
            try await FakeGatewayServer.application(gateway, host: host, port: port, apiKey: apiKey, logger: logger) { port in
                say("payment gateway listening on http://\(host):\(port), callbacks to \(callbackURL)")
            }.runService()
        }
    }

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
                try await mall.signedCallback(paymentID: paymentID, outcome: outcome).json()
            }
            say(body)
        }
    }
}

extension GatewayOutcome: ExpressibleByArgument {}
