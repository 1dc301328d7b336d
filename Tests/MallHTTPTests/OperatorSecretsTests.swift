import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// An operator's secrets stay theirs: the database (which holds the gateway secret) is
/// owner-only, the secrets generated on first start go to standard error only, secrets can
/// be given in files instead of on the command line, and the fake gateway is never the one
/// a shop that looks real runs by accident.
@Suite struct OperatorSecretsTests {
    static func mode(_ path: String) -> mode_t? {
        var status = stat()
        return stat(path, &status) == 0 ? status.st_mode & 0o777 : nil
    }

    @Test func aFreshDatabaseIsOwnerOnlyAndTheGeneratedSecretsGoToStandardErrorOnly() async throws {
        let server = MallServerProcess(gatewaySecret: nil)
        server.adminTokenArgument = false
        server.separateErrors = true
        try await server.start()
        for suffix in ["", "-wal", "-shm"] {
            #expect(Self.mode(server.database + suffix) == 0o600, "\(suffix.isEmpty ? "the database" : suffix): \(String(Self.mode(server.database + suffix) ?? 0, radix: 8))")
        }
        #expect(server.errorLog.contains("admin token (printed once, keep it): "))
        #expect(server.errorLog.contains("payment gateway secret (printed once, give it to the gateway): "))
        #expect(!server.log.contains("admin token (printed once"), "standard output is often a log shipped elsewhere")
        #expect(!server.log.contains("payment gateway secret (printed once"))
        await server.stop()

        // A file an earlier version created readable by all is made owner-only, and said so.
        for suffix in ["", "-wal", "-shm"] where Self.mode(server.database + suffix) != nil { chmod(server.database + suffix, 0o644) }
        try await server.start()
        defer { server.terminate() }
        #expect(Self.mode(server.database) == 0o600)
        #expect(server.log.contains("was readable by other users (mode 644); it is now owner-only (600)"), "\(server.logTail())")
    }

    @Test func secretsGivenInFilesWorkAndOnTheCommandLineAreWarnedAbout() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mall-secrets-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenFile = directory.appendingPathComponent("admin-token").path, secretFile = directory.appendingPathComponent("gateway-secret").path
        try "file-admin-token-0123456789\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try "file-gateway-secret-0123456789\n".write(toFile: secretFile, atomically: true, encoding: .utf8)

        let server = MallServerProcess(gatewaySecret: nil, arguments: ["--admin-token-file", tokenFile, "--gateway-secret-file", secretFile])
        server.adminTokenArgument = false
        try await server.start()
        defer { server.terminate() }
        let client = MallClient(baseURL: server.baseURL)
        #expect(try await client.send("GET", "/admin/rules", token: "file-admin-token-0123456789").status == 200, "the token of the file, without its newline")
        #expect(try await client.send("GET", "/admin/rules", token: MallServerProcess.adminToken).status == 403)
        #expect(!server.log.contains("printed once"), "nothing generated, nothing printed")
        #expect(!server.log.contains("readable by every local user"))
        let cmdline = (try? String(contentsOfFile: "/proc/\(try #require(server.process?.processIdentifier))/cmdline", encoding: .utf8)) ?? ""
        #expect(!cmdline.contains("file-admin-token"), "only the file's path is on the command line")

        let flagged = MallServerProcess()
        try await flagged.start()
        defer { flagged.terminate() }
        #expect(flagged.log.contains("--admin-token on the command line is readable by every local user"))

        let missing = try await flagged.runCommandWithoutDatabase(["serve", "--port", "0", "--admin-token-file", directory.appendingPathComponent("nope").path])
        #expect(missing.status != 0)
        #expect(missing.output.contains("--admin-token-file"), "\(missing.output)")
    }

    @Test func passwordsLongerThanBcryptReadsAreRefusedNotCut() async throws {
        try await InProcessMall.run { client in
            let longest = String(repeating: "é", count: 36)  // 72 bytes
            #expect(try await client.send("POST", "/members", json: ["email": "a@example.com", "password": longest, "name": "A"]).status == 201)
            let tooLong = try await client.send("POST", "/members", json: ["email": "b@example.com", "password": longest + "x", "name": "B"])
            #expect(tooLong.status == 422)
            #expect(tooLong.string("field") == "password")
            #expect(tooLong.string("detail")?.contains("72 bytes") == true)
        }
    }

    /// The fake gateway takes every payment as paid. It stays the demo's default, loudly, and a
    /// shop that looks real (PostgreSQL, or MALL_ENV=production) does not start with it unless told.
    @Test func theFakeGatewayIsRefusedWhereTheShopLooksRealAndAnnouncedWhereItRuns() async throws {
        let refused = MallServerProcess()
        refused.environment["MALL_ENV"] = "production"
        refused.environment["MALL_FAKE_GATEWAY"] = "off"
        await #expect(throws: MallServerProcess.ServerFailed.self) { try await refused.start() }
        #expect(refused.log.contains("no payment gateway"), "\(refused.logTail())")
        #expect(refused.log.contains("--fake-gateway"))

        let allowed = MallServerProcess(arguments: ["--fake-gateway"])
        allowed.environment["MALL_ENV"] = "production"
        allowed.environment["MALL_FAKE_GATEWAY"] = "off"  // the flag alone allows it
        try await allowed.start()
        defer { allowed.terminate() }
        #expect(allowed.log.contains("FAKE payment gateway in process"), "the start-up log says so")
        let ready = try await MallClient(baseURL: allowed.baseURL).send("GET", "/health/ready")
        #expect(ready.status == 200)
        #expect((ready["warnings"] as? [String])?.first?.contains("FAKE payment gateway") == true, "\(ready.json ?? "")")

        if !Backend.postgresSkipped {
            try #require(Backend.postgresURL != nil, "\(MissingPostgresServer())")
            let postgres = MallServerProcess(backend: .postgres(url: Backend.postgresURL))
            postgres.environment["MALL_FAKE_GATEWAY"] = "off"
            await #expect(throws: MallServerProcess.ServerFailed.self) { try await postgres.start() }
            #expect(postgres.log.contains("a PostgreSQL database"), "\(postgres.logTail())")
        }

        let help = try await allowed.runCommandWithoutDatabase(["serve", "--help"])
        #expect(help.output.contains("FAKE gateway"), "mall serve --help says so")
    }
}
