import Foundation
import Herald
import HeraldPostgres
import PostgresNIO
import TestSupport
import Testing

/// Announcements between two processes' stores on one schema travel by NOTIFY: the other
/// store's listener wakes that topic's followers (and not its subscription workers).
@Suite("PostgreSQL store: announcements", .enabled(if: TestDatabase.enabled, "HERALD_SKIP_POSTGRES=1"))
struct PostgresAnnouncementTests {
    @Test func anAnnouncementThroughOneStoreWakesTheTopicsFollowersOfAnother() async throws {
        let schema = TestDatabase.freshSchema()
        // The receiver listens on a client of its own: cancelling a LISTEN closes its
        // connection, which must not be one the shared pool hands to other suites.
        let url = try #require(TestDatabase.url)
        let own = PostgresClient(configuration: try PostgresEventStore.configuration(url: url), backgroundLogger: TestDatabase.logger)
        let running = Task { await own.run() }
        defer { running.cancel() }
        let sender = try await TestDatabase.makeStore(schema: schema), receiver = try await TestDatabase.makeStore(client: own, schema: schema)
        let rules = receiver.announcements.signal("shop.rules"), other = receiver.announcements.signal("shop.other")
        let listening = Task { try await receiver.run() }
        defer { listening.cancel() }
        // Listening begins by waking every topic once (anything missed while away).
        try await eventually("the receiver listens", timeout: .seconds(10)) { rules.generation > 0 }

        let seen = rules.generation, otherSeen = other.generation, commits = receiver.commitSignal.generation
        try await sender.announce("shop.rules")
        try await eventually("the receiver's followers of the topic wake", timeout: .seconds(10)) { rules.generation > seen }
        #expect(other.generation == otherSeen)
        #expect(receiver.commitSignal.generation == commits, "an announcement is no commit")
    }
}
