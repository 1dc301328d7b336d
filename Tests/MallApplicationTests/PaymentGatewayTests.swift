import Foundation
import Herald
import HeraldTesting
import Logging
@_spi(Operations) import MallApplication
import MallOperations
import MallGateway
import MallKernel
import MallPayment
import Resilience
import Testing

/// Payments and refunds through the fake gateway over real loopback HTTP, behind the
/// client's breaker: an outage costs no attempt and no dead letter, starting a payment
/// meanwhile answers at once, and nothing is charged or refunded twice.
@Suite struct PaymentGatewayTests {
    /// A ``FakeGateway`` (no callbacks: the test signs them) served on a free loopback port.
    final class ServedGateway: Sendable {
        let fake: FakeGateway
        let url: String
        private let server: Task<Void, Never>

        init() async throws {
            fake = try FakeGateway(knobs: GatewayKnobs.parse(#"{"callbacks":false}"#, setting: "test"))
            let (ports, listening) = AsyncStream.makeStream(of: Int.self)
            let fake = fake
            server = Task {
                let quiet = Logger(label: "gateway", factory: { _ in SwiftLogNoOpLogHandler() })
                try? await FakeGatewayServer.application(fake, port: 0, apiKey: PaymentGatewayTests.apiKey, logger: quiet) { listening.yield($0) }.run()
                listening.finish()
            }
            var iterator = ports.makeAsyncIterator()
            url = "http://127.0.0.1:\(try #require(await iterator.next()))"
        }

        deinit { server.cancel() }
    }

    static let apiKey = "payment-gateway-tests-api-key"

    static func client(_ url: String, clock: ManualClock) throws -> HTTPPaymentGateway {
        // 30 s per call (the default is 2 s): with every suite at once on two cores a call to
        // the gateway served in this process has taken longer, and none of these checks times one.
        var settings = HTTPPaymentGateway.Settings(timeout: .seconds(30))
        settings.breaker.window = .calls(10)
        settings.breaker.minimumCalls = 2
        settings.breaker.waitInOpen = .seconds(30)
        settings.breaker.halfOpenProbes = 1
        return try HTTPPaymentGateway(
            baseURL: url, apiKey: apiKey, settings: settings, clock: clock, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    @Test func aRefundWaitsOutAGatewayOutageWithoutAttemptsOrDeadLettersAndHappensOnce() async throws {
        let gateway = try await ServedGateway()
        let shop = try await TestMall(gateway: { try Self.client(gateway.url, clock: $0) })
        let ada = try await shop.member()
        let order = try await shop.order(ada, [("headlamp", 1)])
        let other = try await shop.order(ada, [("cocoa", 1)])
        try await shop.settle()
        let payment = try await shop.mall.startPayment(orderID: order.id, memberID: ada).payment
        #expect(await gateway.fake.entry(payment.id)?.status == "pending", "the gateway holds the payment")
        try await shop.mall.ordering.cancel(id: order.id, memberID: ada)
        try await shop.settle()

        // The money arrives after the cancellation, while the gateway is down: it must go back.
        try await gateway.fake.change(.init(outage: true))
        try await shop.callback(payment)
        // Each pass that meets the outage ends there, nothing committed, no attempt counted;
        // after two failed calls the breaker opens and calls stop reaching the gateway.
        await #expect(throws: GatewayUnavailable.self) { try await shop.settle() }
        // Starting another payment meanwhile answers at once, and charges nothing.
        let refused = await #expect(throws: GatewayUnavailable.self) { try await shop.mall.startPayment(orderID: other.id, memberID: ada) }
        #expect(refused?.kind == .dependencyUnavailable)
        #expect(refused?.retryAfter != nil, "says when to ask again")
        await #expect(throws: GatewayUnavailable.self) { try await shop.settle() }
        let reached = await gateway.fake.callsReceived
        for _ in 0..<10 {
            shop.clock.advance(by: .seconds(2))
            await #expect(throws: GatewayUnavailable.self) { try await shop.settle() }
        }
        #expect(await gateway.fake.callsReceived == reached, "the open breaker keeps calls from the gateway")
        #expect(try await shop.mall.engine.store.parkedEvents(subscription: "payment.refunds").isEmpty, "no attempt counted")
        #expect(try await shop.mall.engine.deadLetters.list().isEmpty, "no dead letter from an outage")
        #expect(try await shop.mall.payments.payment(id: payment.id).status == .succeeded, "not refunded yet")
        #expect(try await shop.status(other.id).status == .awaitingPayment, "the other order keeps waiting for its payment")

        // The gateway is back: the probe goes through and the refund happens, once.
        try await gateway.fake.change(.init(outage: false))
        shop.clock.advance(by: .seconds(30))
        try await shop.settle()
        #expect(try await shop.mall.payments.payment(id: payment.id).status == .refunded)
        #expect(await gateway.fake.entry(payment.id)?.refunded == true)
        let retried = try await shop.mall.startPayment(orderID: other.id, memberID: ada)
        #expect(await gateway.fake.entry(retried.payment.id)?.status == "pending", "the payment started again reaches the gateway")
        try await shop.callback(retried.payment)
        try await shop.settle()
        #expect(try await shop.status(other.id).status == .paid)
        try await shop.expectNoDrift()
    }

    @Test func aGatewayThatRefusesARefundMakesADeadLetterAtOnce() async throws {
        let gateway = try await ServedGateway()
        let shop = try await TestMall(gateway: { try Self.client(gateway.url, clock: $0) })
        let ada = try await shop.member()
        let order = try await shop.order(ada, [("headlamp", 1)])
        try await shop.settle()
        // A payment the gateway never saw (started elsewhere): its refund is refused for good.
        let payment = try await shop.mall.payments.request(orderID: order.id, memberID: ada, amount: try await shop.status(order.id).total).payment
        try await shop.mall.ordering.cancel(id: order.id, memberID: ada)
        try await shop.settle()
        try await shop.callback(payment)
        try await shop.settle()
        let dead = try await shop.mall.engine.deadLetters.list()
        #expect(dead.map(\.subscription) == ["payment.refunds"], "a refusal is not worth retrying")
        #expect(try await shop.mall.payments.payment(id: payment.id).status == .succeeded, "and nothing recorded as refunded")
    }

    @Test func theGatewayClientFollowsTheRulesAndABadRuleLeavesItsSettings() async throws {
        let gateway = try await ServedGateway()
        let shop = try await TestMall(seed: false, gateway: { try Self.client(gateway.url, clock: $0) })
        let client = try #require(shop.mall.gateway as? HTTPPaymentGateway)
        var (version, rules) = try await shop.mall.governance.current()
        rules.gateway = .init(timeoutSeconds: 5, failureRatePercent: 30, waitInOpenSeconds: 60, maxConcurrent: 8)
        version = try await shop.mall.governance.set(rules, expectedVersion: version, by: "ops", reason: "the gateway is slow today")
        shop.mall.rulesInForce.apply(rules, version: version)  // what every node's follower does
        #expect(client.settings.timeout == .seconds(5))
        #expect(client.breaker.policy.waitInOpen == .seconds(60))
        #expect(client.breaker.policy.failureRateThreshold == 0.3)
        #expect(client.settings.maxConcurrent == 8)

        var bad = rules
        bad.gateway.timeoutSeconds = 0
        let refused = await #expect(throws: InvalidInput.self) { try await shop.mall.governance.set(bad, expectedVersion: version, by: "ops", reason: "oops") }
        #expect(refused?.field == "rules.gateway.timeoutSeconds")
        #expect(try await shop.mall.governance.current().rules.gateway.timeoutSeconds == 5, "the rules in force stay")
        #expect(client.settings.timeout == .seconds(5))
    }
}
