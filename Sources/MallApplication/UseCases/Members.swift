import MallKernel
import MallMembers
import MallMemberEvents

/// Members: registration, sessions, levels.
extension Mall {
    /// Registers a member; returns their id.
    public func register(email: String, password: String, name: String) async throws -> String {
        try await members.register(email: email, password: password, name: name)
    }

    /// Checks the password and opens a session (at most ``MallConfiguration/maxSessionsPerMember``
    /// live at once); returns its bearer token.
    public func logIn(email: String, password: String) async throws -> String {
        try await members.logIn(email: email, password: password, maxSessions: configuration.maxSessionsPerMember)
    }

    /// Ends the session of `token`.
    public func logOut(token: String) async throws { try await members.logOut(token: token) }

    /// Ends every session of the member; returns how many were live.
    public func logOutEverywhere(memberID: String) async throws -> Int { try await members.logOutEverywhere(memberID: memberID) }

    /// The member a bearer token belongs to.
    ///
    /// - Throws: ``MemberProblem/sessionInvalid`` for a token that is unknown, expired or ended.
    public func memberID(forToken token: String) async throws -> String { try await members.memberID(forToken: token) }

    /// A member's name, email and level.
    public func member(id: String) async throws -> MemberProfile { MemberProfile(try await members.member(id: id)) }

    /// Whether a member of this id exists.
    public func memberExists(id: String) async throws -> Bool {
        do {
            _ = try await members.member(id: id)
            return true
        } catch MemberProblem.memberNotFound {
            return false
        }
    }

    /// What a request that needs a member's session and has none (or a dead one) is
    /// answered with: 401.
    public static var sessionInvalid: any MallProblem { MemberProblem.sessionInvalid }

    /// Moves a member to another level (their member price follows within moments).
    public func changeLevel(memberID: String, to level: MemberLevel) async throws {
        try await members.changeLevel(memberID: memberID, to: level)
    }
}
