import Foundation
import Herald
import MallEvents
import MallPricing

/// Everything `mall serve` and friends can be told, with the defaults of a fresh checkout.
public struct MallConfiguration: Sendable {
    /// A SQLite file path, or a `postgres://` URL.
    public var database: String = "mall.sqlite"
    /// The PostgreSQL schema holding the tables (PostgreSQL only).
    public var postgresSchema: String = "herald"
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// How long an order may wait for payment before it is cancelled.
    public var paymentWindow: Duration = .seconds(15 * 60)
    /// The secret the payment gateway signs callbacks with; when `nil`, a random 256-bit
    /// secret is generated on first start, stored in the database and printed once.
    public var gatewaySecret: String?
    /// The admin bearer token; when `nil` one is generated on first start and printed once.
    public var adminToken: String?
    /// bcrypt's cost factor for member passwords (each +1 doubles the work).
    public var passwordCost: UInt8 = 10
    /// Largest request body accepted, in bytes.
    public var maxBodyBytes: Int = 64 * 1024
    /// How long each subscription waits after a wake-up before reading (see
    /// `Subscription.wakeDelay`): a little delivery latency for far fewer reads under load.
    public var subscriptionWakeDelay: Duration = .milliseconds(2)
    /// Whether to seed the demo catalog into an empty database.
    public var seedDemoCatalog = true
    public var pricing: PricingPolicy = MallConfiguration.defaultPricing

    public init() {}

    public static let currency = "USD"

    public static let defaultPricing = PricingPolicy(
        currency: currency,
        memberDiscounts: [.regular: .zero, .silver: Rate(percent: 5), .gold: Rate(percent: 10)],
        freight: [
            .standard: FreightRate(
                name: "Standard delivery", baseFee: Money(minorUnits: 500, currency: currency), includedGrams: 1000,
                feePerExtraKilogram: Money(minorUnits: 200, currency: currency), freeOver: Money(minorUnits: 9900, currency: currency)),
            .express: FreightRate(
                name: "Express delivery", baseFee: Money(minorUnits: 1500, currency: currency), includedGrams: 1000,
                feePerExtraKilogram: Money(minorUnits: 300, currency: currency), freeOver: nil),
        ])

    /// Reads `MALL_*` variables over the defaults: `MALL_DATABASE_URL`, `MALL_HOST`,
    /// `MALL_POSTGRES_SCHEMA`, `MALL_PORT`, `MALL_PAYMENT_WINDOW_SECONDS`, `MALL_GATEWAY_SECRET`, `MALL_ADMIN_TOKEN`,
    /// `MALL_PASSWORD_COST`, `MALL_SUBSCRIPTION_WAKE_DELAY_MS`.
    ///
    /// - Throws: ``ConfigurationError`` naming the variable and what it allows.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> MallConfiguration {
        var configuration = MallConfiguration()
        if let value = environment["MALL_DATABASE_URL"], !value.isEmpty { configuration.database = value }
        if let value = environment["MALL_HOST"], !value.isEmpty { configuration.host = value }
        if let value = environment["MALL_POSTGRES_SCHEMA"], !value.isEmpty { configuration.postgresSchema = value }
        if let value = environment["MALL_PORT"] { configuration.port = try port(value, setting: "MALL_PORT") }
        if let value = environment["MALL_PAYMENT_WINDOW_SECONDS"] {
            configuration.paymentWindow = try paymentWindow(value, setting: "MALL_PAYMENT_WINDOW_SECONDS")
        }
        if let value = environment["MALL_GATEWAY_SECRET"], !value.isEmpty { configuration.gatewaySecret = value }
        if let value = environment["MALL_ADMIN_TOKEN"], !value.isEmpty { configuration.adminToken = value }
        if let value = environment["MALL_PASSWORD_COST"] {
            guard let cost = UInt8(value) else {
                throw ConfigurationError(setting: "MALL_PASSWORD_COST", value: value, allowed: "bcrypt cost 4 ... 31")
            }
            configuration.passwordCost = cost
        }
        if let value = environment["MALL_SUBSCRIPTION_WAKE_DELAY_MS"] {
            guard let milliseconds = Int(value), (0...500).contains(milliseconds) else {
                throw ConfigurationError(setting: "MALL_SUBSCRIPTION_WAKE_DELAY_MS", value: value, allowed: "milliseconds, 0 ... 500")
            }
            configuration.subscriptionWakeDelay = .milliseconds(milliseconds)
        }
        try configuration.validate()
        return configuration
    }

    public static func port(_ text: String, setting: String) throws -> Int {
        guard let port = Int(text), (0...65535).contains(port) else {
            throw ConfigurationError(setting: setting, value: text, allowed: "a port number 0...65535 (0: any free port)")
        }
        return port
    }

    public static func paymentWindow(_ text: String, setting: String) throws -> Duration {
        guard let seconds = Double(text), seconds >= 0.01, seconds <= 7 * 24 * 3600 else {
            throw ConfigurationError(setting: setting, value: text, allowed: "seconds, 0.01 ... 604800")
        }
        return .milliseconds(Int64(seconds * 1000))
    }

    public func validate() throws {
        if let gatewaySecret, gatewaySecret.utf8.count < 16 {
            throw ConfigurationError(setting: "gateway secret", value: "\(gatewaySecret.utf8.count) bytes", allowed: "at least 16 bytes")
        }
        if let adminToken, adminToken.utf8.count < 16 {
            throw ConfigurationError(setting: "admin token", value: "\(adminToken.utf8.count) bytes", allowed: "at least 16 bytes")
        }
        guard (4...31).contains(passwordCost) else {
            throw ConfigurationError(setting: "password cost", value: "\(passwordCost)", allowed: "4 ... 31")
        }
    }
}
