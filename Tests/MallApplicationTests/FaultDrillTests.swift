import Foundation
import Herald
import HeraldTesting
import Logging
@_spi(Operations) import MallApplication
import MallOperations
import MallGateway
import MallKernel
import MallPayment
import Testing

/// Fault drills: one at a time, bounded, ending by themselves; the runner puts each in
/// force on the gateway and takes it back.
@Suite struct FaultDrillTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test func aDrillIsPutInForceAndTakenBackWhenItsTimeIsUp() async throws {
        let gateway = try FakeGateway(knobs: GatewayKnobs.parse(#"{"callbacks":false}"#, setting: "test"))
        let shop = try await TestMall(paymentWindow: .seconds(60), gateway: { _ in gateway })
        let runner = DrillRunner(drills: shop.mall.drills, target: gateway, paymentWindow: .seconds(60), logger: Self.quiet)

        try await shop.mall.drills.start(.gatewayDown, seconds: 30, by: "ops", reason: "game day")
        try await runner.step()
        #expect(runner.applied == .gatewayDown)
        #expect(await gateway.currentKnobs().outage)
        let ada = try await shop.member()
        let order = try await shop.order(ada, [("cocoa", 1)])
        try await shop.settle()
        await #expect(throws: GatewayUnavailable.self, "payments cannot start while the gateway is down") {
            try await shop.mall.startPayment(orderID: order.id, memberID: ada)
        }
        #expect(try await shop.status(order.id).status == .awaitingPayment, "orders are still taken")

        shop.clock.advance(by: .seconds(31))
        try await runner.step()
        #expect(runner.applied == nil)
        #expect(await gateway.currentKnobs() == (try GatewayKnobs.parse(#"{"callbacks":false}"#, setting: "test")), "the knobs are back")
        _ = try await shop.mall.startPayment(orderID: order.id, memberID: ada)
        #expect(try await shop.mall.drills.status().active == nil)
        #expect(try await shop.mall.drills.status().recent.map(\.kind) == [.gatewayDown])
    }

    @Test func aLateCallbacksDrillWaitsPastThePaymentWindowAndAStoppedDrillEndsAtOnce() async throws {
        let gateway = try FakeGateway()
        let shop = try await TestMall(paymentWindow: .seconds(5), gateway: { _ in gateway })
        let runner = DrillRunner(drills: shop.mall.drills, target: gateway, paymentWindow: .seconds(5), logger: Self.quiet)
        try await shop.mall.drills.start(.lateCallbacks, seconds: 600, by: "ops", reason: "late money")
        try await runner.step()
        #expect(await gateway.currentKnobs().callbackDelayMs == 7000)
        #expect(try await shop.mall.drills.stop()?.kind == .lateCallbacks)
        try await runner.step()
        #expect(await gateway.currentKnobs().callbackDelayMs == GatewayKnobs().callbackDelayMs)
        #expect(try await shop.mall.drills.stop() == nil, "nothing left to stop")
    }

    /// A gateway-failing drill fails the share it was given; a drill stopped and another of
    /// the same kind started between two of the runner's steps is put in force with its own share.
    @Test func aFailingDrillFailsTheShareItWasGiven() async throws {
        let gateway = try FakeGateway()
        let shop = try await TestMall(seed: false, gateway: { _ in gateway })
        let runner = DrillRunner(drills: shop.mall.drills, target: gateway, paymentWindow: .seconds(60), logger: Self.quiet)
        try await shop.mall.drills.start(.gatewayFailing, seconds: 60, by: "ops", reason: "default share")
        try await runner.step()
        #expect(await gateway.currentKnobs().failureRate == 0.5)
        try await shop.mall.drills.stop()
        shop.clock.advance(by: .seconds(1))
        let drill = try await shop.mall.drills.start(.gatewayFailing, seconds: 60, failingPercent: 20, by: "ops", reason: "a fifth")
        #expect(drill.failingPercent == 20)
        try await runner.step()
        #expect(await gateway.currentKnobs().failureRate == 0.2)
        try await shop.mall.drills.stop()
        try await runner.step()
        #expect(await gateway.currentKnobs().failureRate == 0)

        for (kind, percent) in [(DrillKind.gatewayFailing, 0), (.gatewayFailing, 101), (.gatewayDown, 50)] {
            let refused = await #expect(throws: InvalidInput.self) {
                try await shop.mall.drills.start(kind, seconds: 10, failingPercent: percent, by: "ops", reason: "bad share")
            }
            #expect(refused?.field == "failingPercent")
        }
    }

    @Test func oneDrillAtATimeWithinItsBoundsAndSaidWhy() async throws {
        let shop = try await TestMall(seed: false)
        let drills = shop.mall.drills
        try await drills.start(.gatewaySlow, seconds: 10, by: "ops", reason: "slow day")
        let running = await #expect(throws: DrillAlreadyRunning.self) { try await drills.start(.gatewayDown, seconds: 10, by: "ops", reason: "again") }
        #expect(running?.kind == .conflict)
        shop.clock.advance(by: .seconds(10))
        try await drills.start(.gatewayDown, seconds: 10, by: "ops", reason: "after the first ended")
        try await drills.stop()
        for (seconds, by, reason, field) in [(0.5, "ops", "r", "seconds"), (3601, "ops", "r", "seconds"), (.nan, "ops", "r", "seconds"), (10, " ", "r", "by"), (10, "ops", "", "reason")] {
            let refused = await #expect(throws: InvalidInput.self) { try await drills.start(.gatewayFailing, seconds: seconds, by: by, reason: reason) }
            #expect(refused?.field == field)
        }
        #expect(try await drills.status().recent.count == 2, "refused drills leave nothing")
    }
}
