import Foundation
import Herald
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
@_spi(Operations) import MallApplication
import MallComposition
import MallOperations
import MallHTTP
import NIOCore
import Resilience

/// The API in process: a Mall on a fresh SQLite file with its Herald service running, and
/// requests through HummingbirdTesting's router client (no socket, no child process). For
/// the contract tests; crash and end-to-end tests keep a real `mall serve`.
enum InProcessMall {
    /// - Parameter jobs: whether the server's job scheduler runs too.
    static func run(
        configure: (inout MallConfiguration) -> Void = { _ in }, jobs: Bool = false, _ body: @escaping @Sendable (MallClient) async throws -> Void
    ) async throws {
        try await run(configure: configure, jobs: jobs) { client, _ in try await body(client) }
    }

    /// As ``run(configure:jobs:_:)``, with the shop itself for the test to look into, and
    /// its subscriptions' retry policy.
    static func run(
        configure: (inout MallConfiguration) -> Void = { _ in }, jobs: Bool = false, retryPolicy: RetryPolicy = .default,
        _ body: @escaping @Sendable (MallClient, Mall) async throws -> Void
    ) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mall-inprocess-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        var configuration = MallConfiguration()
        configuration.database = path
        configuration.adminToken = MallServerProcess.adminToken
        configuration.gatewaySecret = MallServerProcess.gatewaySecret
        configuration.passwordCost = 4
        // Every in-process request shares one client address ("unknown"): the shoppers of
        // these tests would otherwise share one budget of log-ins (the limits have tests of their own).
        configuration.loginLimitPerAddress = RateLimitPolicy(rate: 1000, burst: 1_000_000)
        configure(&configuration)
        let logger = Logger(label: "in-process", factory: { _ in SwiftLogNoOpLogHandler() })
        try await Mall.withMall(configuration, logger: logger) { mall in
            _ = try await mall.seedDemoCatalogIfEmpty()
            _ = try await mall.payments.establishGatewaySecret()
            let server = try MallServer(mall: mall, logger: logger)
            let app = server.application(services: [try mall.service(retryPolicy: retryPolicy)] + (jobs ? [server.jobs.service] : []))
            try await app.test(.router) { client in try await body(MallClient(client), mall) }
        }
    }
}

extension MallClient {
    /// A client of HummingbirdTesting's `client`.
    init(_ client: some TestClientProtocol) {
        self.init { method, path, headers, body in
            var fields = HTTPFields()
            for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
            let response = try await client.executeRequest(
                uri: path, method: HTTPRequest.Method(method)!, headers: fields, body: body.map { ByteBuffer(bytes: $0) })
            var responseHeaders: [String: String] = [:]
            for field in response.headers { responseHeaders[field.name.canonicalName] = field.value }
            return (response.status.code, responseHeaders, Data(response.body.readableBytesView))
        }
    }
}
