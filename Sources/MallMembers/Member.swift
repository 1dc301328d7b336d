import Foundation
import Herald
import MallKernel
import MallMemberEvents

/// A registered customer: the Members context's aggregate.
public struct Member: AggregateRoot, Hashable {
    public static let streamType = "Member"

    public let id: String
    public private(set) var email: String
    public private(set) var name: String
    public private(set) var passwordHash: String
    public private(set) var level: MemberLevel
    public var pendingEvents = PendingEvents()

    static func register(id: String, email: String, name: String, passwordHash: String) -> Member {
        var member = Member(id: id, email: email, name: name, passwordHash: passwordHash, level: .regular)
        member.record(MemberRegistered(memberID: id, email: email, name: name, level: .regular))
        return member
    }

    public mutating func change(level newLevel: MemberLevel) {
        guard newLevel != level else { return }
        record(MemberLevelChanged(memberID: id, from: level, to: newLevel))
        level = newLevel
    }
}

/// Claims an e-mail address for one member. Its stream id is the normalised address, so
/// two registrations of one address conflict in the store, whatever their timing.
struct EmailClaim: AggregateRoot {
    static let streamType = "MemberEmail"
    let id: String
    var memberID: String
    var pendingEvents = PendingEvents()
}

/// A logged-in member's bearer token, stored only as its SHA-256 (a leaked database
/// yields no usable token). The stream id is that hash in hex.
struct Session: AggregateRoot {
    static let streamType = "Session"
    let id: String
    var memberID: String
    var expiresAt: Date
    /// When the member logged out (or a newer session displaced it); `nil` while live.
    var endedAt: Date?
    var pendingEvents = PendingEvents()

    init(id: String, memberID: String, expiresAt: Date) {
        self.id = id
        self.memberID = memberID
        self.expiresAt = expiresAt
    }

    func isLive(at now: Date) -> Bool { endedAt == nil && expiresAt > now }

    mutating func end(at now: Date) {
        if endedAt == nil { endedAt = now }
    }
}

/// A member's live sessions, oldest first: what caps them, and what "log out everywhere"
/// ends. The stream id is the member's id.
struct MemberSessions: AggregateRoot {
    static let streamType = "MemberSessions"
    struct Entry: Codable, Hashable {
        var digest: String
        var expiresAt: Date
    }

    let id: String
    var live: [Entry] = []
    var pendingEvents = PendingEvents()

    init(id: String) { self.id = id }
}

/// Hashes and checks passwords. The application supplies bcrypt on a bounded pool of its
/// own; tests may use a cheaper one.
public protocol PasswordHasher: Sendable {
    /// - Throws: when the hasher is too busy to take more work (`Overloaded`).
    func hash(_ password: String) async throws -> String
    func verify(_ password: String, against hash: String) async throws -> Bool
    /// A hash made at the configured cost, of a password nobody knows: a log-in for an
    /// address that has no member is checked against it, so it costs what a real one does
    /// and its timing does not tell which addresses are members.
    var decoyHash: String { get }
}

public enum MemberProblem: MallProblem, Hashable {
    case emailTaken
    case wrongCredentials
    case sessionInvalid
    case memberNotFound(String)

    public var kind: ProblemKind {
        switch self {
        case .emailTaken: .conflict
        case .wrongCredentials, .sessionInvalid: .unauthenticated
        case .memberNotFound: .notFound
        }
    }

    public var field: String? {
        switch self {
        case .emailTaken: "email"
        case .wrongCredentials, .sessionInvalid, .memberNotFound: nil
        }
    }

    public var description: String {
        switch self {
        case .emailTaken: "a member with this e-mail address exists"
        case .wrongCredentials: "e-mail address or password is wrong"
        case .sessionInvalid: "the bearer token is unknown or expired"
        case .memberNotFound(let id): "no member \(id)"
        }
    }
}
