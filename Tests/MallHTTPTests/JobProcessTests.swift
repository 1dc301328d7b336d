import Foundation
import Testing
import TestSupport

/// The recurring jobs on real `mall serve` processes: operated through `/admin/jobs` and
/// `mall jobs`, and failing over when a node is killed.
@Suite struct JobProcessTests {
    static let admin = MallServerProcess.adminToken
    static let job = "payment-deadlines"

    static func jobs(_ client: MallClient) async throws -> [String: Any] {
        let all = try await client.send("GET", "/admin/jobs", token: admin).array
        return try #require(all.first { $0["name"] as? String == job })
    }

    static func history(_ client: MallClient) async throws -> [[String: Any]] {
        try await client.send("GET", "/admin/jobs/\(job)/history?limit=1000", token: admin).array
    }

    @Test func aJobIsPausedTriggeredAndResumedThroughTheAPIAndTheCommandLine() async throws {
        let server = MallServerProcess()
        server.environment["MALL_DEADLINE_SWEEP_SCHEDULE"] = "* * * * * *"  // every second
        try await server.start()
        defer { server.terminate() }
        let client = MallClient(baseURL: server.baseURL)

        try await eventually("the sweeper runs on schedule", timeout: .seconds(30)) {
            try await Self.history(client).contains { $0["trigger"] as? String == "schedule" && $0["outcome"] as? String == "succeeded" }
        }
        let status = try await Self.jobs(client)
        let items = try #require(status["items"] as? [[String: Any]])
        #expect(items.count == 4)
        #expect(Set(items.compactMap { $0["owner"] as? String }).count == 1, "one node owns every item: \(items)")

        let paused = try await client.send("POST", "/admin/jobs/\(Self.job)/pause", json: ["by": "ops"], token: Self.admin)
        #expect(paused.status == 200)
        #expect(paused["paused"] as? Bool == true)
        let pausedAt = Date()
        #expect(try await server.runCommand(["jobs", "list"]).output.contains("PAUSED"))

        let triggered = try await server.runCommand(["jobs", "trigger", Self.job, "--by", "ops"])
        #expect(triggered.status == 0, "\(triggered.output)")
        try await eventually("the trigger runs every item, paused or not", timeout: .seconds(30)) {
            try await Self.history(client).filter { $0["trigger"] as? String == "manual" }.count == 4
        }
        // A second after the pause every tick has seen it: no scheduled run starts later.
        let scheduledAfterPause = try await Self.history(client).filter { run in
            guard run["trigger"] as? String == "schedule", let started = (run["startedAt"] as? String).flatMap({ try? Date($0, strategy: .iso8601) }) else { return false }
            return started > pausedAt.addingTimeInterval(1.5)
        }
        #expect(scheduledAfterPause.isEmpty, "\(scheduledAfterPause)")

        #expect(try await server.runCommand(["jobs", "resume", Self.job, "--by", "ops"]).status == 0)
        let resumedAt = Date()
        try await eventually("scheduled runs again", timeout: .seconds(30)) {
            try await Self.history(client).contains { run in
                run["trigger"] as? String == "schedule"
                    && ((run["startedAt"] as? String).flatMap { try? Date($0, strategy: .iso8601) } ?? .distantPast) > resumedAt
            }
        }
        let history = try await server.runCommand(["jobs", "history", Self.job, "--limit", "5"])
        #expect(history.status == 0 && history.output.contains("5 run(s)"), "\(history.output)")

        let unknown = try await client.send("POST", "/admin/jobs/no-such-job/pause", json: ["by": "ops"], token: Self.admin)
        #expect(unknown.status == 404)
        #expect(unknown.string("field") == "name")
        let unknownCLI = try await server.runCommand(["jobs", "pause", "no-such-job", "--by", "ops"])
        #expect(unknownCLI.status != 0)
        #expect(unknownCLI.output.contains(Self.job), "names the jobs there are: \(unknownCLI.output)")
        #expect(try await client.send("POST", "/admin/jobs/\(Self.job)/pause", json: ["by": " "], token: Self.admin).status == 400)
    }
}

/// Three `mall serve` nodes killed under a job: run on a PostgreSQL server of its own, after
/// the main pass (three more servers beside a dozen others overloaded the shared one).
@Suite(.enabled(if: PostgresServerControl.isExclusive && Backend.postgresURL != nil, "needs a PostgreSQL server of its own (HERALD_POSTGRES_EXCLUSIVE=1)"))
struct JobFailoverTests {
    /// Three nodes on PostgreSQL share a job of six items; one is killed (SIGKILL). Its
    /// items move to the others once its leases expire and run there; no item runs twice
    /// for one fire time, before, during or after.
    @Test func aKilledNodesItemsRunOnTheOthersAndNoItemRunsTwicePerFireTime() async throws {
        let first = MallServerProcess(backend: .postgres(url: Backend.postgresURL))
        let nodes = [first, MallServerProcess(sharing: first), MallServerProcess(sharing: first)]
        for node in nodes {
            node.environment["MALL_DEADLINE_SWEEP_SCHEDULE"] = "*/2 * * * * *"
            node.environment["MALL_DEADLINE_SWEEP_ITEMS"] = "6"
            try await node.start()
        }
        defer { for node in nodes { node.terminate() } }
        let client = MallClient(baseURL: first.baseURL)
        func owners() async throws -> [String?] {
            try #require(try await JobProcessTests.jobs(client)["items"] as? [[String: Any]]).map { $0["owner"] as? String }
        }
        try await eventually("the six items spread over three nodes", timeout: .seconds(60)) {
            Set(try await owners().compactMap { $0 }).count == 3
        }
        let before = try await owners()
        let victim = nodes[2]
        await victim.kill()
        let killedAt = Date()
        var movedAt = Date()
        try await eventually("the killed node's items run on the others", timeout: .seconds(60)) {
            let live = Set(try await owners().compactMap { $0 })
            guard live.count == 2 else { return false }
            let dead = Set(before.compactMap { $0 }).subtracting(live)
            let orphaned = before.indices.filter { before[$0].map(dead.contains) == true }
            let runs = try await JobProcessTests.history(client)
            let ranElsewhere = orphaned.allSatisfy { item in
                runs.contains { run in
                    run["item"] as? Int == item && !(dead.contains(run["node"] as? String ?? ""))
                        && ((run["fireTime"] as? String).flatMap { try? Date($0, strategy: .iso8601) } ?? .distantPast) > killedAt
                }
            }
            if ranElsewhere { movedAt = Date() }
            return ranElsewhere
        }
        print("jobs fail-over: the killed node's items ran elsewhere \(String(format: "%.1f", movedAt.timeIntervalSince(killedAt))) s after SIGKILL (lease 10 s, period 2 s)")
        let runs = try await JobProcessTests.history(client)
        let perFire = Dictionary(grouping: runs, by: { "\($0["item"] as? Int ?? -1)@\($0["fireTime"] as? String ?? "")" })
        #expect(perFire.values.allSatisfy { $0.count == 1 }, "runs twice for one fire time: \(perFire.filter { $0.value.count > 1 }.keys.sorted())")
        #expect(runs.count > 20, "the job ran throughout: \(runs.count) runs")
    }
}
