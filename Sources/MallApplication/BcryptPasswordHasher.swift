import HummingbirdBcrypt
import MallMembers

/// bcrypt (from hummingbird-auth) for member passwords, on a ``BoundedThreadPool`` of its
/// own: never on Swift's cooperative pool, and refused (503) rather than queued without end.
public struct BcryptPasswordHasher: PasswordHasher {
    public let cost: UInt8
    let pool: BoundedThreadPool
    /// A hash at ``cost`` of a random password: what a log-in for an unknown address is
    /// checked against, so that it costs what a known one does.
    public let decoyHash: String

    public init(cost: UInt8, pool: BoundedThreadPool) {
        self.cost = cost
        self.pool = pool
        decoyHash = Bcrypt.hash(MemberService.randomToken(bytes: 16), cost: cost)
    }

    public func hash(_ password: String) async throws -> String {
        try await pool.run { [cost] in Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, against hash: String) async throws -> Bool {
        try await pool.run { Bcrypt.verify(password, hash: hash) }
    }
}
