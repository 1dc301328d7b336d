import Foundation

/// Random secrets from the system's cryptographic generator: bearer tokens, API keys,
/// the gateway secret, ids nobody may guess.
public enum RandomToken {
    /// `bytes` random bytes, base64url without padding (43 characters for 32 bytes).
    public static func base64URL(bytes: Int) -> String {
        Data(random(bytes)).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// `bytes` random bytes as lower-case hex digits (64 for 32 bytes).
    public static func hex(bytes: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: random(bytes).flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] }, as: UTF8.self)
    }

    private static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}
