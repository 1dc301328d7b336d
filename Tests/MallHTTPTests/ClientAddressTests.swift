import Herald
import HTTPTypes
import MallKernel
import MallMembers
import Testing

@testable import MallHTTP

/// The pieces the limits per client and the console's escaping stand on: addresses and
/// ranges, the forwarding chain, constant-time comparison, HTML escaping.
@Suite struct ClientAddressTests {
    static func resolve(peer: String, _ headers: [(String, String)], trusted: [String]) throws -> String {
        var fields = HTTPFields()
        for (name, value) in headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        let networks = try trusted.map { try IPNetwork(parsing: $0, setting: "test") }
        return ClientAddress.resolve(peer: try #require(IPAddress(peer)), headers: fields, trusted: networks).description
    }

    @Test func addressesParseIPv4MappedIPv6AsIPv4AndKeyIPv6ByItsSlash64() throws {
        #expect(IPAddress("192.0.2.1")?.description == "192.0.2.1")
        #expect(IPAddress("::ffff:192.0.2.1")?.description == "192.0.2.1")
        #expect(IPAddress("2001:DB8:0:0:1::1")?.description == "2001:db8::1:0:0:1")
        #expect(IPAddress("2001:db8:1:2:3:4:5:6")?.limiterKey == "2001:db8:1:2::/64")
        #expect(IPAddress("2001:db8:1:2::ffff")?.limiterKey == IPAddress("2001:db8:1:2:aaaa::1")?.limiterKey)
        #expect(IPAddress("192.0.2.1")?.limiterKey == "192.0.2.1")
        for bad in ["", "unknown", "192.0.2", "192.0.2.1:80", "[::1]", "_hidden", String(repeating: "1", count: 100)] { #expect(IPAddress(bad) == nil, "\(bad)") }
    }

    @Test func networksContainTheirAddressesOnly() throws {
        let ten = try IPNetwork(parsing: "10.0.0.0/8", setting: "t")
        #expect(ten.contains(try #require(IPAddress("10.255.1.2"))))
        #expect(!ten.contains(try #require(IPAddress("11.0.0.1"))))
        #expect(!ten.contains(try #require(IPAddress("::ffff:11.0.0.1"))))
        let odd = try IPNetwork(parsing: "192.168.0.0/23", setting: "t")
        let inside = try #require(IPAddress("192.168.1.200")), outside = try #require(IPAddress("192.168.2.1"))
        #expect(odd.contains(inside) && !odd.contains(outside))
        let v6 = try IPNetwork(parsing: "2001:db8::/32", setting: "t")
        let within = try #require(IPAddress("2001:db8:ffff::1")), beyond = try #require(IPAddress("2001:db9::1"))
        #expect(v6.contains(within) && !v6.contains(beyond))
        #expect(!v6.contains(try #require(IPAddress("10.0.0.1"))), "an IPv4 address is never in an IPv6 range")
        #expect(try IPNetwork(parsing: "127.0.0.1", setting: "t").prefixLength == 32)
        for bad in ["10.0.0.0/33", "::/129", "10.0.0.0/", "nonsense/8", "10.0.0.0/8/8"] {
            let error = #expect(throws: ConfigurationError.self, "\(bad)") { try IPNetwork(parsing: bad, setting: "--trusted-proxy") }
            #expect(error?.setting == "--trusted-proxy")
        }
    }

    @Test func theClientIsTheNearestUntrustedHopAndHeadersFromUntrustedPeersAreIgnored() throws {
        let proxies = ["127.0.0.1", "10.0.0.0/8"]
        #expect(try Self.resolve(peer: "203.0.113.5", [("X-Forwarded-For", "1.2.3.4")], trusted: proxies) == "203.0.113.5", "not a proxy")
        #expect(try Self.resolve(peer: "127.0.0.1", [], trusted: proxies) == "127.0.0.1", "the proxy itself")
        #expect(try Self.resolve(peer: "127.0.0.1", [("X-Forwarded-For", "6.6.6.6, 198.51.100.1, 10.0.0.7")], trusted: proxies) == "198.51.100.1")
        #expect(try Self.resolve(peer: "127.0.0.1", [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "198.51.100.1")], trusted: proxies)
                == "198.51.100.1", "header lines in order")
        #expect(try Self.resolve(peer: "127.0.0.1", [("X-Forwarded-For", "10.0.0.2, 10.0.0.1")], trusted: proxies) == "10.0.0.2",
                "only trusted hops: the furthest")
        #expect(try Self.resolve(peer: "127.0.0.1", [("X-Forwarded-For", "198.51.100.1, garbage")], trusted: proxies) == "127.0.0.1",
                "a hop that is no address ends the walk at the last trusted one")
        #expect(try Self.resolve(peer: "127.0.0.1", [("Forwarded", "for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https"),
                                                     ("X-Forwarded-For", "1.1.1.1")], trusted: proxies) == "2001:db8::7",
                "Forwarded before X-Forwarded-For, quoted, bracketed, with a port")
        #expect(try Self.resolve(peer: "127.0.0.1", [("Forwarded", "for=192.0.2.60:8080;by=10.0.0.1")], trusted: proxies) == "192.0.2.60")
        let long = (0..<1000).map { "10.0.\($0 / 250).\($0 % 250)" }.joined(separator: ", ")
        #expect(try Self.resolve(peer: "127.0.0.1", [("X-Forwarded-For", "6.6.6.6, " + long)], trusted: proxies).hasPrefix("10."),
                "at most 32 hops are read")
    }

    @Test func constantTimeEqualityComparesWholeLengths() {
        #expect(ConstantTime.equals("secret", "secret"))
        #expect(!ConstantTime.equals("secret", "secreT"))
        #expect(!ConstantTime.equals("a", "a" + String(repeating: "\0", count: 256)), "lengths 256 apart are not equal")
        #expect(!ConstantTime.equals("", String(repeating: "\0", count: 512)))
        #expect(!ConstantTime.equals("abc", "ab"))
    }

    @Test func theHTMLEscaperWorksOnWhatTheBrowserParses() {
        let attack = "\"\u{301} autofocus onfocus=alert(1) x='"
        let escaped = HTML.escape(attack)
        #expect(!escaped.contains("\""), "a quote followed by a combining mark is still escaped: \(escaped)")
        #expect(escaped.hasPrefix("&quot;\u{301}"))
        #expect(!escaped.contains("'"))
        #expect(HTML.escape("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;")
        #expect(HTML.escape("Café ☕") == "Café ☕")
        let field: HTML = "<input value=\"\(attack)\">"
        #expect(field.text.filter { $0 == "\"" }.count == 2, "only the attribute's own quotes: \(field.text)")
    }
}
