import Crypto
import Foundation
import Herald
import MallKernel
import MallMemberEvents

/// The Members context's use cases: registration, log-in, token checks, levels.
public struct MemberService: Sendable {
    public static let sessionLifetime: Duration = .seconds(30 * 24 * 3600)
    /// bcrypt reads no further than 72 bytes: a longer password would be cut silently, so
    /// every password sharing its first 72 bytes would open the account. Refused instead.
    public static let maximumPasswordBytes = 72

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
        guard password.count >= 8 else { throw InvalidInput(field: "password", "at least 8 characters") }
        // 422, not 400: up to 72 characters is well-formed (the document's maxLength), and
        // whether they fit in 72 bytes depends on the characters.
        guard password.utf8.count <= Self.maximumPasswordBytes else {
            throw RuleViolation(field: "password", "at most \(Self.maximumPasswordBytes) bytes in UTF-8 (bcrypt reads no further); choose a shorter one")
        }
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

    /// Checks the password and opens a session. A member has at most `maxSessions` live
    /// sessions: a log-in past that ends the oldest (a leaked token does not live on beside
    /// any number of new ones, and no account can store sessions without bound).
    ///
    /// - Returns: a bearer token (43 URL-safe characters, 256 random bits).
    public func logIn(email: String, password: String, maxSessions: Int = 10) async throws -> String {
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
        let now = engine.clock.now()
        let session = Session(id: Self.digest(token), memberID: member.id, expiresAt: now.adding(Self.sessionLifetime))
        try await engine.perform { work in
            var list = try await work.load(MemberSessions.self, id: member.id) ?? MemberSessions(id: member.id)
            var opened = session
            list.live = list.live.filter { $0.expiresAt > now } + [MemberSessions.Entry(digest: opened.id, expiresAt: opened.expiresAt)]
            while list.live.count > max(1, maxSessions) {
                let oldest = list.live.removeFirst()
                if var ended = try await work.load(Session.self, id: oldest.digest) {
                    ended.end(at: now)
                    try work.save(&ended)
                }
            }
            try work.save(&opened)
            try work.save(&list)
        }
        return token
    }

    /// Ends the session of `token` (log out): the token is refused from now on.
    ///
    /// - Throws: ``MemberProblem/sessionInvalid`` for a token that is unknown, expired or ended.
    public func logOut(token: String) async throws {
        let memberID = try await memberID(forToken: token)
        let digest = Self.digest(token), now = engine.clock.now()
        try await engine.perform { work in
            guard var session = try await work.load(Session.self, id: digest), session.isLive(at: now) else { throw MemberProblem.sessionInvalid }
            session.end(at: now)
            try work.save(&session)
            if var list = try await work.load(MemberSessions.self, id: memberID) {
                list.live.removeAll { $0.digest == digest }
                try work.save(&list)
            }
        }
    }

    /// Ends every session of the member (log out everywhere: a lost phone, a shared computer).
    ///
    /// - Returns: how many sessions were ended.
    @discardableResult
    public func logOutEverywhere(memberID: String) async throws -> Int {
        let now = engine.clock.now()
        return try await engine.perform { work in
            guard var list = try await work.load(MemberSessions.self, id: memberID) else { return 0 }
            var ended = 0
            for entry in list.live {
                guard var session = try await work.load(Session.self, id: entry.digest), session.isLive(at: now) else { continue }
                session.end(at: now)
                try work.save(&session)
                ended += 1
            }
            list.live = []
            try work.save(&list)
            return ended
        }
    }

    /// The id of the member a bearer token belongs to (one read: the session).
    ///
    /// - Throws: ``MemberProblem/sessionInvalid`` for an unknown, expired or ended token.
    public func memberID(forToken token: String) async throws -> String {
        guard token.count <= 256 else { throw MemberProblem.sessionInvalid }
        let digest = Self.digest(token)
        guard let session = try await engine.unitOfWork().load(Session.self, id: digest),
              ConstantTime.equals(session.id, digest),
              session.isLive(at: engine.clock.now())
        else { throw MemberProblem.sessionInvalid }
        return session.memberID
    }

    /// Deletes the sessions that have expired (a session is never written again after log-in,
    /// so one written a ``sessionLifetime`` ago has expired).
    ///
    /// - Returns: how many were deleted.
    public func pruneExpiredSessions() async throws -> Int {
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
    public static func randomToken(bytes: Int) -> String { RandomToken.base64URL(bytes: bytes) }

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
