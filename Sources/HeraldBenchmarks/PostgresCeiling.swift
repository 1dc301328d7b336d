import Foundation
import Logging
import PostgresNIO

/// The write ceiling of Herald's unit of work on PostgreSQL, without Herald or PostgresNIO
/// around it: `pgbench`, `clients` connections, each calling the store's `herald_commit(…)`
/// with what ``Bench/openAccount(_:_:)`` commits (one new aggregate, one event; the same
/// statement, one round trip, autocommit) as fast as the server answers. What Herald's own
/// `uow_commits_per_s_64` reaches of it is Herald's and PostgresNIO's share of the cost.
enum PostgresCeiling {
    /// pgbench: on the PATH, or beside a Debian server's binaries.
    static func pgbench() -> String? {
        let candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/pgbench" }
            + ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).sorted().reversed()
                .map { "/usr/lib/postgresql/\($0)/bin/pgbench" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The pgbench script: a new account per call (a random id per client and call), as the
    /// unit of work's changeset encodes it, through `function` (`herald_commit`, or a copy).
    static func script(schema: String, function: String = "herald_commit") -> String {
        """
        \\set n random(1, 2000000000)
        SELECT * FROM \(schema).\(function)(
            ARRAY['Account' || chr(31) || 'pg' || :client_id || '-' || :n],
            ARRAY['Account'], ARRAY['pg' || :client_id || '-' || :n], ARRAY[0::bigint],
            ARRAY[convert_to('{"id":"pg' || :client_id || '-' || :n || '","balance":100}', 'UTF8')],
            now(), ARRAY[]::text[], ARRAY[]::text[],
            ARRAY[gen_random_uuid()], ARRAY['Account'], ARRAY['pg' || :client_id || '-' || :n], ARRAY['bench.Deposited'], ARRAY[1::bigint],
            ARRAY[convert_to('{"amount":100}', 'UTF8')], ARRAY[now()], ARRAY[''], ARRAY[''], ARRAY[''], ARRAY[''], ARRAY[0::bigint]);
        """
    }

    /// Runs pgbench, `clients` connections with `transactions` calls each, against the
    /// migrated `schema` of the server at `url`; returns its transactions per second.
    ///
    /// By count, not by time (`-T`): pgbench ends a timed run with SIGALRM, which a child of
    /// this process inherits blocked, so a timed run never ended (seen: 24 minutes for `-T 10`).
    static func commitsPerSecond(
        url: String, schema: String, function: String = "herald_commit", clients: Int, transactions: Int
    ) throws -> Double {
        guard let pgbench = pgbench() else { throw BenchFailure(description: "pgbench not found (Debian's postgresql package has it)") }
        guard let components = URLComponents(string: url), let host = components.host, let user = components.user else {
            throw BenchFailure(description: "cannot read the database URL for pgbench")
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("herald-commit-\(UUID().uuidString).sql")
        try script(schema: schema, function: function).write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: pgbench)
        process.arguments = [
            "-h", host, "-p", String(components.port ?? 5432), "-U", user, "-n", "-M", "prepared", "-c", String(clients),
            "-j", "2", "-t", String(transactions), "-f", file.path, String(components.path.drop { $0 == "/" }),
        ]
        var environment = ProcessInfo.processInfo.environment
        if let password = components.password { environment["PGPASSWORD"] = password }
        process.environment = environment
        // A file, not a pipe: a pipe's end of file waits for every holder of its write end.
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("pgbench-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try? handle.close()
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0,
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("tps = ") }),
              let tps = Double(line.dropFirst("tps = ".count).prefix { $0 != " " })
        else {
            // Its first complaint says why; the rest repeats it per client.
            let complaint = text.split(separator: "\n").first { $0.contains("error") || $0.contains("ERROR") || $0.contains("aborted") } ?? text.suffix(500)
            throw BenchFailure(description: "pgbench failed (\(process.terminationStatus)): \(complaint)")
        }
        return tps
    }
}

extension PostgresCeiling {
    /// `CREATE`s `herald_commit_silent`: `herald_commit` of `schema` as the server holds it, without
    /// its `pg_notify`. What it commits more per second is what the notification costs: a
    /// notifying transaction takes a database-wide lock at commit, so they commit one at a time.
    static func silentCopy(schema: String, client: PostgresClient, logger: Logger) async throws {
        let rows = try await client.query("SELECT pg_get_functiondef(\(schema + ".herald_commit")::regproc)", logger: logger)
        var definition = ""
        for try await text in rows.decode(String.self) { definition = text }
        guard let notify = definition.range(of: #"PERFORM pg_notify\([^;]*\);"#, options: .regularExpression),
              let name = definition.range(of: "herald_commit(")
        else { throw BenchFailure(description: "herald_commit has no pg_notify to leave out") }
        definition.replaceSubrange(notify, with: "NULL;")
        definition.replaceSubrange(definition.range(of: "herald_commit(")!, with: "herald_commit_silent(")
        _ = name
        try await client.query(PostgresQuery(unsafeSQL: definition), logger: logger)
    }
}
