import Foundation
import MallKernel
import Testing

/// The limits on log-ins over real sockets, as an attacker meets them: a wave of wrong
/// passwords at once, an attacker rotating addresses against one account, one account's
/// right password storming, and (behind a trusted proxy) clients told apart by the address
/// the proxy forwards, IPv6 clients by their /64.
@Suite struct LoginLimitTests {
    static func login(_ email: String, _ password: String, from address: String? = nil) -> RawHTTP.Request {
        RawHTTP.Request(
            method: "POST", path: "/sessions", headers: address.map { ["X-Forwarded-For": $0] } ?? [:],
            body: #"{"email":"\#(email)","password":"\#(password)"}"#)
    }

    static func register(_ client: MallClient, _ email: String) async throws {
        let registered = try await client.send("POST", "/members", json: ["email": email, "password": "correct horse", "name": "Ada"])
        try #require(registered.status == 201, "register: \(registered.json ?? "")")
    }

    /// Log-ins one at a time (each answered before the next is sent).
    static func oneByOne(_ port: Int, _ requests: [RawHTTP.Request]) throws -> [RawHTTP.Response] {
        try requests.map { try RawHTTP.atOnce(port: port, [$0])[0] }
    }

    /// The issue's wave, measured from outside: 60 wrong passwords from one address at once.
    /// With bcrypt at its real cost every request is on the wire long before the first hash
    /// ends, so a check that reserved nothing let all 60 be hashed (401).
    @Test func sixtyWrongPasswordsAtOnceFromOneAddressHaveNoMoreThanTheBurstChecked() async throws {
        let server = MallServerProcess()
        server.environment["MALL_PASSWORD_COST"] = "10"
        try await server.start()
        defer { server.terminate() }
        try await Self.register(MallClient(baseURL: server.baseURL), "ada@example.com")

        let answers = try RawHTTP.atOnce(port: try #require(server.baseURL.port), (0..<60).map { Self.login("ada@example.com", "guess \($0)") })
        let checked = answers.count { $0.status == 401 }, refused = answers.filter { $0.status == 429 }
        print("60 wrong passwords at once: \(checked) checked (401), \(refused.count) refused (429)")
        #expect(checked <= 10, "at most the burst of 10 passwords was checked, not \(checked)")
        #expect(checked >= 1)
        #expect(checked + refused.count == 60, "every request answered 401 or 429: \(answers.map(\.status))")
        #expect(refused.allSatisfy { Int($0.headers["retry-after"] ?? "") ?? 0 >= 1 })
        #expect(refused.allSatisfy { $0.body.contains("failed log-ins from this address") })
    }

    /// An attacker rotating addresses against one account is slowed to the account's limit; the
    /// member, from an address they logged in from before, is not held by it.
    @Test func aStrangerRotatingAddressesIsSlowedAndTheMemberStillLogsInFromAKnownAddress() async throws {
        let server = MallServerProcess(arguments: ["--trusted-proxy", "127.0.0.1"])
        try await server.start()
        defer { server.terminate() }
        let port = try #require(server.baseURL.port)
        try await Self.register(MallClient(baseURL: server.baseURL), "ada@example.com")
        #expect(try Self.oneByOne(port, [Self.login("ada@example.com", "correct horse", from: "198.51.100.7")])[0].status == 201)

        let attacks = try Self.oneByOne(port, (1...12).map { Self.login("ada@example.com", "guess \($0)", from: "203.0.113.\($0)") })
        #expect(attacks.prefix(10).allSatisfy { $0.status == 401 }, "ten failures are checked: \(attacks.map(\.status))")
        for refused in attacks.suffix(2) {
            #expect(refused.status == 429)
            #expect(refused.body.contains("failed log-ins to this account"))
            #expect((1...30).contains(Int(refused.headers["retry-after"] ?? "") ?? 0), "a short wait: \(refused.headers)")
        }
        #expect(try Self.oneByOne(port, [Self.login("ada@example.com", "correct horse", from: "198.51.100.7")])[0].status == 201,
                "from an address she used before, the member logs in at once")
        let elsewhere = try Self.oneByOne(port, [Self.login("ada@example.com", "correct horse", from: "192.0.2.50")])[0]
        #expect(elsewhere.status == 429, "from a new address she waits the account's refill")
        #expect((1...30).contains(Int(elsewhere.headers["retry-after"] ?? "") ?? 0))
    }

    /// One account's right password, many times at once: no more than the account's burst is
    /// hashed (a valid account cannot keep the hashing pool full), the rest refused at once.
    @Test func oneAccountsRightPasswordAtOnceIsHashedNoMoreThanItsBurst() async throws {
        let server = MallServerProcess()
        server.environment["MALL_PASSWORD_COST"] = "10"
        try await server.start()
        defer { server.terminate() }
        try await Self.register(MallClient(baseURL: server.baseURL), "ada@example.com")
        let answers = try RawHTTP.atOnce(port: try #require(server.baseURL.port), (0..<40).map { _ in Self.login("ada@example.com", "correct horse") })
        let accepted = answers.count { $0.status == 201 }
        print("40 right passwords at once: \(accepted) logged in (201), \(answers.count { $0.status == 429 }) refused (429)")
        #expect(accepted <= 10 && accepted >= 1, "\(answers.map(\.status))")
        // Refused by the account's limit, or, while ten are being hashed, by the failed-log-in
        // tokens they hold until their outcome is known.
        #expect(answers.filter { $0.status != 201 }.allSatisfy { $0.status == 429 }, "\(answers.map(\.status))")
    }

    /// Without `--trusted-proxy`, forwarding headers are anyone's to write and are ignored: every
    /// failure from 127.0.0.1 counts against 127.0.0.1 whatever address it claims.
    @Test func withoutATrustedProxyForwardedAddressesAreIgnored() async throws {
        let server = MallServerProcess()
        try await server.start()
        defer { server.terminate() }
        let answers = try Self.oneByOne(
            try #require(server.baseURL.port), (1...11).map { Self.login("nobody-\($0)@example.com", "guess", from: "203.0.113.\($0)") })
        #expect(answers.prefix(10).allSatisfy { $0.status == 401 }, "\(answers.map(\.status))")
        #expect(answers.last?.status == 429, "the eleventh failure from 127.0.0.1 is refused, whatever it claims")
    }

    /// Behind a trusted proxy each client has its own budget: the address the proxy forwards
    /// (the nearest one it did not get from another trusted proxy, whatever a client wrote
    /// further out), and for IPv6 the /64, so rotating addresses within it gains nothing.
    @Test func behindATrustedProxyEachClientHasItsOwnBudgetAndIPv6CountsBySlash64() async throws {
        let server = MallServerProcess(arguments: ["--trusted-proxy", "127.0.0.1/32", "--trusted-proxy", "10.0.0.0/8"])
        try await server.start()
        defer { server.terminate() }
        let port = try #require(server.baseURL.port)
        var attempt = 0
        func failures(_ addresses: [String], forwardedHeader: String = "X-Forwarded-For") throws -> [Int] {
            try Self.oneByOne(port, addresses.map { address in
                attempt += 1
                return RawHTTP.Request(
                    method: "POST", path: "/sessions", headers: [forwardedHeader: address],
                    body: #"{"email":"nobody-\#(attempt)@example.com","password":"guess"}"#)
            }).map(\.status)
        }
        // The client writes anything it likes on the left; the proxies append what they saw.
        let spoofing = try failures((1...11).map { "192.0.2.\($0), 198.51.100.1, 10.1.2.3" })
        #expect(spoofing.prefix(10).allSatisfy { $0 == 401 } && spoofing.last == 429, "all count against 198.51.100.1: \(spoofing)")
        #expect(try failures(["198.51.100.2"]) == [401], "another client is not held by it")
        #expect(try failures(["for=198.51.100.1;proto=https"], forwardedHeader: "Forwarded") == [429], "Forwarded names the same client")

        let rotating = try failures((1...11).map { "2001:db8:1:2::\(String($0, radix: 16))" })
        #expect(rotating.prefix(10).allSatisfy { $0 == 401 } && rotating.last == 429, "one /64, one budget: \(rotating)")
        #expect(try failures(["2001:db8:1:3::1"]) == [401], "the next /64 is another client")
        #expect(try failures(["for=\"[2001:db8:1:2::99]:4711\""], forwardedHeader: "Forwarded") == [429])
    }
}
