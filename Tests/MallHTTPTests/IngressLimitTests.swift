import Foundation
import Herald
import HeraldTesting
import Hummingbird
import HummingbirdTesting
@_spi(Operations) import MallApplication
import MallOperations
import Resilience
import Synchronization
import Testing

@testable import MallHTTP

/// Rate limits and load shedding at the edge, in process. The limits refill at one token an
/// hour here, so no test depends on how fast the machine is.
@Suite struct IngressLimitTests {
    static let hourly = 1.0 / 3600

    func expectLimited(_ result: HTTPResult, _ comment: Comment? = nil) {
        #expect(result.status == 429, comment)
        #expect(result.contentType == "application/problem+json", comment)
        #expect(result.string("type") == "https://mall.example/problems/too-many-requests", comment)
        let retryAfter = Int(result.headers["retry-after"] ?? "")
        #expect(retryAfter.map { $0 >= 1 && $0 <= 3600 } == true, "Retry-After: \(result.headers["retry-after"] ?? "none")")
    }

    @Test func failedLogInsFromOneAddressAreRefusedOnceTheirBurstIsSpentAndSuccessfulOnesCostNothing() async throws {
        try await InProcessMall.run(configure: { $0.failedLoginLimit = RateLimitPolicy(rate: Self.hourly, burst: 3) }) { client in
            let email = "ada-\(UUID().uuidString.prefix(8))@example.com"
            #expect(try await client.send("POST", "/members", json: ["email": email, "password": "correct horse", "name": "Ada"]).status == 201)
            for _ in 0..<5 { #expect(try await client.send("POST", "/sessions", json: ["email": email, "password": "correct horse"]).status == 201) }
            for attempt in 0..<3 {
                #expect(try await client.send("POST", "/sessions", json: ["email": email, "password": "guess \(attempt)"]).status == 401)
            }
            expectLimited(try await client.send("POST", "/sessions", json: ["email": email, "password": "guess 3"]), "the fourth failure")
            // Refused before the password is checked: the right one does not get through either.
            expectLimited(try await client.send("POST", "/sessions", json: ["email": email, "password": "correct horse"]))
        }
    }

    @Test func withTheLimitsSwitchedOffFailuresAreNeverRefused() async throws {
        try await InProcessMall.run(configure: {
            $0.failedLoginLimit = RateLimitPolicy(rate: Self.hourly, burst: 1)
            $0.ingressLimits = false
        }) { client in
            for attempt in 0..<3 {
                let failed = try await client.send("POST", "/sessions", json: ["email": "nobody@example.com", "password": "guess \(attempt)"])
                #expect(failed.status == 401)
            }
        }
        let off = try MallConfiguration.fromEnvironment(["MALL_INGRESS_LIMITS": "off"])
        #expect(off.ingressLimits == false)
        #expect(throws: ConfigurationError.self) { try MallConfiguration.fromEnvironment(["MALL_INGRESS_LIMITS": "maybe"]) }
        let limits = try MallConfiguration.fromEnvironment(["MALL_FAILED_LOGINS_PER_MINUTE": "3", "MALL_FAILED_LOGINS_BURST": "4"]).failedLoginLimit
        #expect(limits.rate == 3.0 / 60 && limits.burst == 4)
        let error = #expect(throws: ConfigurationError.self) { try MallConfiguration.fromEnvironment(["MALL_ORDERS_PER_MINUTE": "0"]) }
        #expect(error?.setting == "MALL_ORDERS_PER_MINUTE")
    }

    @Test func registrationsFromOneAddressAreLimited() async throws {
        try await InProcessMall.run(configure: { $0.registrationLimit = RateLimitPolicy(rate: Self.hourly, burst: 2) }) { client in
            for name in ["a", "b"] {
                #expect(try await client.send("POST", "/members", json: ["email": "\(name)@example.com", "password": "correct horse", "name": name]).status == 201)
            }
            let third = try await client.send("POST", "/members", json: ["email": "c@example.com", "password": "correct horse", "name": "c"])
            expectLimited(third)
            #expect(third.string("detail")?.contains("registrations") == true)
        }
    }

    @Test func ordersAreLimitedPerMemberAndOneMembersSpreeLeavesOthersAlone() async throws {
        try await InProcessMall.run(configure: {
            $0.orderLimit = RateLimitPolicy(rate: Self.hourly, burst: 2)
            $0.maxUnpaidOrdersPerMember = 100
        }) { client in
            let ada = try await client.member("ada")
            let bob = try await client.member("bob")
            for _ in 0..<2 { #expect(try await client.placeOrder(ada.token, [("cocoa", 1)]).status == 201) }
            expectLimited(try await client.placeOrder(ada.token, [("cocoa", 1)]))
            #expect(try await client.placeOrder(bob.token, [("cocoa", 1)]).status == 201)
            // Refused before anything was written: Ada has two orders.
            try await client.waitUntilCaughtUp()
            #expect(try await client.send("GET", "/orders", token: ada.token).array.count == 2)
        }
    }

    @Test func requestsBeyondTheLimitInFlightAreShedAtOnceButHealthChecksAnswer() async throws {
        var configuration = MallConfiguration()
        configuration.maxRequestsInFlight = 2
        let limits = try IngressLimits(configuration, clock: ManualClock())
        let release = Latch()
        let inside = Atomic<Int>(0)
        let router = Router(context: MallRequestContext.self)
        router.add(middleware: LoadSheddingMiddleware(limits: limits, bodyLimit: 1024))
        router.get("/slow") { _, _ -> String in
            // A request let in past the limit answers at once: the test then fails, not hangs.
            guard inside.add(1, ordering: .sequentiallyConsistent).newValue <= 2 else { return "let in" }
            await release.wait()
            return "done"
        }
        router.get("/health/live") { _, _ in "live" }
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await withThrowingTaskGroup(of: UInt.self) { group in
                for _ in 0..<2 { group.addTask { try await client.execute(uri: "/slow", method: .get).status.code.magnitude } }
                while inside.load(ordering: .sequentiallyConsistent) < 2 { await Task.yield() }
                let shed = try await client.execute(uri: "/slow", method: .get)
                #expect(shed.status == .serviceUnavailable)
                #expect(shed.headers[.retryAfter] == "1")
                #expect(shed.headers[.contentType] == "application/problem+json")
                #expect(try await client.execute(uri: "/health/live", method: .get).status == .ok)
                release.open()
                var finished: [UInt] = []
                for try await status in group { finished.append(status) }
                #expect(finished == [200, 200])
            }
            #expect(try await client.execute(uri: "/slow", method: .get).status == .ok)
        }
    }
}

/// Holds its waiters until opened; open, it lets everyone through.
final class Latch: Sendable {
    private let state = Mutex<(isOpen: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let isOpen = state.withLock { state in
                if !state.isOpen { state.waiters.append(continuation) }
                return state.isOpen
            }
            if isOpen { continuation.resume() }
        }
    }

    func open() {
        for waiter in state.withLock({ state in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }) { waiter.resume() }
    }
}
