import Foundation
import Herald

/// An IPv4 or IPv6 address, as the limits per client see it. An IPv4 address written as
/// IPv6 (`::ffff:192.0.2.1`, what a dual-stack socket reports) is the IPv4 address.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 (IPv6), in network order.
    public let bytes: [UInt8]

    public var isIPv4: Bool { bytes.count == 4 }

    /// Parses dotted IPv4 or any textual IPv6 form (`inet_pton`); `nil` for anything else.
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        guard !text.isEmpty, text.utf8.count <= 64 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let all = withUnsafeBytes(of: &v6) { Array($0) }
        bytes = all.prefix(12).elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]) ? Array(all.suffix(4)) : all
    }

    /// The canonical text (`inet_ntop`): `192.0.2.1`, `2001:db8::1`.
    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        bytes.withUnsafeBytes { raw in _ = inet_ntop(isIPv4 ? AF_INET : AF_INET6, raw.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// What a limit per client counts: the IPv4 address, or the IPv6 address's /64. One
    /// subscriber line gets a whole /64, so counting single IPv6 addresses would let one
    /// client rotate through 2^64 of them, each with a fresh budget (and, past the
    /// limiter's bound of tracked keys, wash out everyone else's).
    public var limiterKey: String {
        guard !isIPv4 else { return description }
        return IPAddress(unchecked: Array(bytes.prefix(8)) + Array(repeating: 0, count: 8)).description + "/64"
    }

    private init(unchecked bytes: [UInt8]) { self.bytes = bytes }
}

/// A range of addresses, `10.0.0.0/8` or `2001:db8::/32`; a single address is its own range.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// - Throws: ``ConfigurationError`` naming `setting` for text that is not an address or
    ///   an address with a prefix length in range.
    public init(parsing text: String, setting: String) throws {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPAddress(parts[0]) else {
            throw ConfigurationError(setting: setting, value: text, allowed: "an IP address or a CIDR range, e.g. 10.0.0.0/8 or 2001:db8::/32")
        }
        let maximum = address.bytes.count * 8
        let length = parts.count == 2 ? Int(parts[1]) : maximum
        guard let length, (0...maximum).contains(length) else {
            throw ConfigurationError(setting: setting, value: text, allowed: "a prefix length 0 ... \(maximum) after the /")
        }
        self.address = address
        prefixLength = length
    }

    /// Whether `candidate` lies in this range (an IPv4 address never lies in an IPv6 range).
    public func contains(_ candidate: IPAddress) -> Bool {
        guard candidate.bytes.count == address.bytes.count else { return false }
        var remaining = prefixLength
        for (mine, theirs) in zip(address.bytes, candidate.bytes) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xff : ~(0xff >> UInt8(remaining))
            if mine & mask != theirs & mask { return false }
            remaining -= 8
        }
        return true
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
