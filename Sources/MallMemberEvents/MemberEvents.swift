import Herald
import MallKernel

/// A member's level, which sets their member price.
public enum MemberLevel: String, Codable, Hashable, Sendable, CaseIterable {
    case regular, silver, gold
}

/// Someone registered as a member.
public struct MemberRegistered: DomainEvent {
    public static let eventType = "MemberRegistered"
    public var memberID: String
    public var email: String
    public var name: String
    public var level: MemberLevel

    public init(memberID: String, email: String, name: String, level: MemberLevel) {
        self.memberID = memberID
        self.email = email
        self.name = name
        self.level = level
    }
}

/// A member moved to another level.
public struct MemberLevelChanged: DomainEvent {
    public static let eventType = "MemberLevelChanged"
    public var memberID: String
    public var from: MemberLevel
    public var to: MemberLevel

    public init(memberID: String, from: MemberLevel, to: MemberLevel) {
        self.memberID = memberID
        self.from = from
        self.to = to
    }
}

/// The Members context's published language: the events other contexts may hear, registered under
/// their stable names by the application.
public enum MemberEvents {
    public static let published: [any DomainEvent.Type] = [
        MemberRegistered.self, MemberLevelChanged.self,
    ]
}
