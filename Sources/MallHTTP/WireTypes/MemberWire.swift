import MallMemberEvents

struct RegisterRequest: Decodable { var email: String; var password: String; var name: String }
struct RegisterResponse: Encodable { var id: String }
struct SessionRequest: Decodable { var email: String; var password: String }
struct SessionResponse: Encodable { var token: String; var memberId: String }
struct LevelRequest: Decodable { var level: MemberLevel }
struct LevelResponse: Encodable { var id: String; var level: String }
/// The answer to `DELETE /sessions`: how many sessions were ended.
struct SessionsEnded: Encodable { var ended: Int }
