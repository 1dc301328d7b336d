import Crypto
import Foundation
import Herald
import MallMembers

/// Signed-in browsers of the operator console. Signing in with the admin token opens a
/// session: a random token the browser keeps in a cookie, stored here only as its SHA-256
/// (like members' sessions), valid for ``lifetime`` on every node, closed at sign-out. So
/// the admin token itself never sits in a browser, and a stolen cookie stops working at
/// sign-out or after eight hours.
extension Mall {
    /// How long a console session lasts.
    public static let consoleSessionLifetime: Duration = .seconds(8 * 3600)

    /// Opens a session when `adminToken` is the admin token; returns its token.
    public func openConsoleSession(adminToken: String) async throws -> String? {
        guard try await isAdmin(token: adminToken) else { return nil }
        let token = MemberService.randomToken(bytes: 32)
        let expiresAt = engine.clock.now().addingTimeInterval(Self.consoleSessionLifetime.timeInterval)
        try await engine.perform(attempts: 1) { work in
            var session = ConsoleSession(id: MemberService.digest(token), expiresAt: expiresAt)
            try work.save(&session)
        }
        return token
    }

    /// Whether `token` is an open, unexpired console session (looked up by its digest).
    public func isConsoleSession(_ token: String) async throws -> Bool {
        guard token.utf8.count <= 128,
              let session = try await engine.unitOfWork().load(ConsoleSession.self, id: MemberService.digest(token))
        else { return false }
        return !session.closed && session.expiresAt > engine.clock.now()
    }

    /// Closes the session `token` (signing out); nothing when it is not one.
    public func closeConsoleSession(_ token: String) async throws {
        guard token.utf8.count <= 128 else { return }
        try await engine.perform { work in
            guard var session = try await work.load(ConsoleSession.self, id: MemberService.digest(token)), !session.closed else { return }
            session.closed = true
            try work.save(&session)
        }
    }

    /// Deletes sessions opened more than a lifetime ago (the retention job).
    public func pruneConsoleSessions() async throws -> Int {
        try await engine.pruneDocuments(
            ofType: ConsoleSession.streamType, writtenBefore: engine.clock.now().addingTimeInterval(-Self.consoleSessionLifetime.timeInterval))
    }

    /// The token every form of the session `token` carries: an HMAC of a fixed label under
    /// the session's token, so a page of another site cannot know it.
    public static func consoleFormToken(for token: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("mall console form".utf8), using: SymmetricKey(data: Data(token.utf8)))
        return Data(code).map { String(format: "%02x", $0) }.joined()
    }
}

/// One console session, by the SHA-256 of its token.
struct ConsoleSession: AggregateRoot {
    static let streamType = "ConsoleSession"
    let id: String
    var expiresAt: Date
    var closed = false
    var pendingEvents = PendingEvents()

    init(id: String, expiresAt: Date) {
        self.id = id
        self.expiresAt = expiresAt
    }
}
