import Foundation
import Herald
@_spi(Operations) import MallApplication
import MallOperations
import Testing

/// Console sessions: opened only with the admin token, valid on any node until signed out
/// or eight hours old, and pruned after that.
@Suite struct ConsoleSessionTests {
    @Test func aSessionOpensWithTheAdminTokenOnlyAndEndsAtSignOutOrAfterItsLifetime() async throws {
        let shop = try await TestMall(seed: false)
        let admin = try #require(try await shop.mall.establishAdminToken())
        #expect(try await shop.mall.openConsoleSession(adminToken: "guess") == nil)

        let session = try #require(try await shop.mall.openConsoleSession(adminToken: admin))
        #expect(session != admin)
        #expect(try await shop.mall.isConsoleSession(session))
        #expect(try await !shop.mall.isConsoleSession(admin), "the admin token is no session")
        #expect(try await !shop.mall.isConsoleSession(String(repeating: "x", count: 10_000)))

        let other = try #require(try await shop.mall.openConsoleSession(adminToken: admin))
        try await shop.mall.closeConsoleSession(session)
        #expect(try await !shop.mall.isConsoleSession(session), "signed out")
        #expect(try await shop.mall.isConsoleSession(other), "another browser's session stays")

        shop.clock.advance(by: Mall.consoleSessionLifetime)
        #expect(try await !shop.mall.isConsoleSession(other), "expired")
        shop.clock.advance(by: .seconds(1))
        #expect(try await shop.mall.pruneConsoleSessions() == 2, "both pruned once a lifetime old")
    }
}
