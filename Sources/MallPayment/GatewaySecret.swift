import Foundation
import Herald
import MallKernel

/// The secret the payment gateway and this install share, when none is configured: 256
/// random bits, generated on first start and kept in the database (as the admin token's
/// digest is), so every node and every restart verifies with the same one.
///
/// Kept in clear: verifying an HMAC needs the key itself. Whoever can read the database
/// can forge callbacks; configure the secret (`MALL_GATEWAY_SECRET`) to keep it elsewhere.
struct GatewaySecret: AggregateRoot {
    static let streamType = "GatewaySecret"
    static let mainID = "main"
    var id = GatewaySecret.mainID
    var secret: String
    var pendingEvents = PendingEvents()

    init(secret: String) { self.secret = secret }

    /// 32 bytes from the system's cryptographic generator, as 64 hex digits.
    static func generate() -> String { RandomToken.hex(bytes: 32) }
}
