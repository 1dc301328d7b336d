import MallMemberEvents
import MallMembers

public struct RegisterRequest: Decodable, Sendable { public var email: String; public var password: String; public var name: String }

public struct RegisterResponse: Encodable, Sendable {
    public var id: String

    public init(id: String) {
        self.id = id
    }
}

public struct SessionRequest: Decodable, Sendable { public var email: String; public var password: String }

public struct SessionResponse: Encodable, Sendable {
    public var token: String
    public var memberId: String

    public init(token: String, memberId: String) {
        self.token = token
        self.memberId = memberId
    }
}

public struct LevelRequest: Decodable, Sendable { public var level: MemberLevel }

public struct LevelResponse: Encodable, Sendable {
    public var id: String
    public var level: String

    public init(id: String, level: String) {
        self.id = id
        self.level = level
    }
}

/// The answer to `DELETE /sessions`: how many sessions were ended.
public struct SessionsEnded: Encodable, Sendable {
    public var ended: Int

    public init(ended: Int) {
        self.ended = ended
    }
}

/// A member as an operator sees them (the console's order page).
public struct MemberProfile: Sendable, Hashable {
    public var id: String
    public var name: String
    public var email: String
    public var level: MemberLevel

    init(_ member: Member) {
        (id, name, email, level) = (member.id, member.name, member.email, member.level)
    }
}
