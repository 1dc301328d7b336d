import Crypto
import Foundation
import Herald
import MallKernel
import MallMemberEvents

/// The Members context's use cases: registration, log-in, token checks, levels.
public struct MemberService: Sendable {
    public static let sessionLifetime: Duration = .seconds(30 * 24 * 3600)

    let engine: HeraldEngine
    let hasher: any PasswordHasher

    public init(engine: HeraldEngine, hasher: any PasswordHasher) {
        self.engine = engine
        self.hasher = hasher
    }

    /// Registers a member.
    ///
    /// The address is checked before the password is hashed: a taken address costs one
    /// read, not a bcrypt (and the check is made again, atomically, when the member is stored).
    ///
    /// - Returns: the new member's id.
    /// - Throws: ``InvalidInput`` for a bad address, name or password; ``MemberProblem/emailTaken``.
    public func register(email: String, password: String, name: String) async throws -> String {
        let email = try Self.normalised(email: email)
        let name = try name.validated(field: "name", maxLength: 100)
        guard (8...128).contains(password.count) else { throw InvalidInput(field: "password", "8 to 128 characters") }
        guard try await engine.unitOfWork().load(EmailClaim.self, id: email) == nil else { throw MemberProblem.emailTaken }
        let memberID = "m-" + Self.randomToken(bytes: 9)
        let passwordHash = try await hasher.hash(password)
        do {
            return try await engine.perform(attempts: 1) { work in
                guard try await work.load(EmailClaim.self, id: email) == nil else { throw MemberProblem.emailTaken }
                var claim = EmailClaim(id: email, memberID: memberID)
                var member = Member.register(id: memberID, email: email, name: name, passwordHash: passwordHash)
                try work.save(&claim)
                try work.save(&member)
                return memberID
            }
        } catch is ConcurrencyConflict {
            throw MemberProblem.emailTaken
        }
    }

    /// Checks the password and opens a session.
    ///
    /// - Returns: a bearer token (43 URL-safe characters, 256 random bits).
    public func logIn(email: String, password: String) async throws -> String {
        let work = engine.unitOfWork()
        guard let normalised = try? Self.normalised(email: email),
              let claim = try await work.load(EmailClaim.self, id: normalised),
              let member = try await work.load(Member.self, id: claim.memberID)
        else {
            _ = try await hasher.verify(password, against: hasher.decoyHash)  // same cost whether or not the address exists
            throw MemberProblem.wrongCredentials
        }
        guard try await hasher.verify(password, against: member.passwordHash) else { throw MemberProblem.wrongCredentials }
        let token = Self.randomToken(bytes: 32)
        var session = Session(id: Self.digest(token), memberID: member.id, expiresAt: engine.clock.now().adding(Self.sessionLifetime))
        try work.save(&session)
        try await work.commit()
        return token
    }

    /// The id of the member a bearer token belongs to (one read: the session).
    ///
    /// - Throws: ``MemberProblem/sessionInvalid`` for an unknown or expired token.
    public func memberID(forToken token: String) async throws -> String {
        guard token.count <= 256 else { throw MemberProblem.sessionInvalid }
        let digest = Self.digest(token)
        guard let session = try await engine.unitOfWork().load(Session.self, id: digest),
              ConstantTime.equals(session.id, digest),
              session.expiresAt > engine.clock.now()
        else { throw MemberProblem.sessionInvalid }
        return session.memberID
    }

    /// Deletes the sessions that have expired (a session is never written again after log-in,
    /// so one written a ``sessionLifetime`` ago has expired).
    ///
    /// - Returns: how many were deleted, or `nil` when the store cannot delete documents.
    public func pruneExpiredSessions() async throws -> Int? {
        let createdBefore = engine.clock.now().addingTimeInterval(-Self.sessionLifetime.timeInterval)
        return try await engine.pruneDocuments(ofType: Session.streamType, writtenBefore: createdBefore)
    }

    public func member(id: String) async throws -> Member {
        guard let member = try await engine.unitOfWork().load(Member.self, id: id) else { throw MemberProblem.memberNotFound(id) }
        return member
    }

    public func changeLevel(memberID: String, to level: MemberLevel) async throws {
        try await engine.perform { work in
            guard var member = try await work.load(Member.self, id: memberID) else { throw MemberProblem.memberNotFound(memberID) }
            member.change(level: level)
            try work.save(&member)
        }
    }

    static func normalised(email: String) throws -> String {
        let email = email.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
              !email.contains(where: { $0.isWhitespace })
        else { throw InvalidInput(field: "email", "not an e-mail address") }
        return email
    }

    /// `bytes` random bytes from the system's cryptographic generator, base64url without padding.
    public static func randomToken(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<bytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The hex SHA-256 under which a bearer token is stored and compared.
    public static func digest(_ token: String) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in SHA256.hash(data: Data(token.utf8)) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}

/// Comparison whose time does not depend on where two secrets differ.
public enum ConstantTime {
    public static func equals(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8), right = Array(b.utf8)
        var difference = UInt8(truncatingIfNeeded: left.count ^ right.count)
        for index in 0..<max(left.count, right.count) {
            difference |= (index < left.count ? left[index] : 0) ^ (index < right.count ? right[index] : 0)
        }
        return difference == 0
    }
}
