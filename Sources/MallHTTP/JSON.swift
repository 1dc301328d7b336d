import Foundation
import Hummingbird
import MallKernel
import NIOCore

/// JSON in and out: responses with keys in declaration order, bodies read with a size
/// limit, decoding errors turned into ``InvalidInput`` naming the field.
enum JSON {
    /// Keys in declaration order, the same in every process (see ``OrderedJSONEncoder``).
    static let encoder = OrderedJSONEncoder()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom(decodeDate)
        return decoder
    }()

    /// An RFC 3339 `date-time` (what the document's `format: date-time` allows): with or
    /// without fractional seconds, `T`/`Z` in either case, any offset RFC 3339 allows
    /// (Foundation's parser stops at ±18 hours; RFC 3339 goes to ±23:59).
    @Sendable static func decodeDate(_ decoder: any Decoder) throws -> Date {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let date = rfc3339(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an RFC 3339 date-time: \(text)"))
        }
        return date
    }

    static func rfc3339(_ text: String) -> Date? {
        var local = text.uppercased()
        var offset = 0
        if !local.hasSuffix("Z") {
            // "+HH:MM" or "-HH:MM": read it here, parse the rest as UTC, then apply it.
            let suffix = local.suffix(6)
            guard suffix.count == 6, let sign = suffix.first, sign == "+" || sign == "-",
                  suffix.dropFirst(3).first == ":",
                  let hours = Int(suffix.dropFirst().prefix(2)), let minutes = Int(suffix.suffix(2)),
                  (0...23).contains(hours), (0...59).contains(minutes)
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (sign == "-" ? -1 : 1)
            local = local.dropLast(6) + "Z"
        }
        let parsed = (try? Date(local, strategy: .iso8601))
            ?? (try? Date(local, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        return parsed.map { $0.addingTimeInterval(TimeInterval(-offset)) }
    }

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        response(body: ByteBuffer(bytes: try encoder.encode(value)), status: status)
    }

    /// A response of a body already encoded.
    static func response(body: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    /// Reads the body (at most `limit` bytes, else 413) and decodes it.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        var request = request
        let buffer = try await request.collectBody(upTo: limit)
        guard buffer.readableBytes > 0 else { throw InvalidInput(field: "body", "a JSON body is required") }
        do {
            return try decoder.decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty,
               let field = outOfRangeNumber(in: Data(buffer.readableBytesView)) {
                // Foundation's decoder calls a number too big for Int "not valid JSON".
                throw InvalidInput(field: field, "is out of range")
            }
            throw invalidInput(from: error)
        }
    }

    /// The path of the first number in valid JSON that no integer type holds.
    static func outOfRangeNumber(in data: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return nil }
        func search(_ value: Any, _ path: String) -> String? {
            switch value {
            case let dictionary as [String: Any]:
                for key in dictionary.keys.sorted() {
                    if let found = search(dictionary[key]!, path.isEmpty ? key : "\(path).\(key)") { return found }
                }
                return nil
            case let array as [Any]:
                for (index, element) in array.enumerated() {
                    if let found = search(element, "\(path)[\(index)]") { return found }
                }
                return nil
            case let number as NSNumber where !(value is Bool):
                let double = number.doubleValue
                return double.magnitude >= 9.2e18 || double.isNaN ? (path.isEmpty ? "body" : path) : nil
            default:
                return nil
            }
        }
        return search(object, "")
    }

    static func invalidInput(from error: DecodingError) -> InvalidInput {
        func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            let keys = codingPath + (last.map { [$0] } ?? [])
            let text = keys.reduce("") { text, key in
                if let index = key.intValue { return text + "[\(index)]" }
                return text.isEmpty ? key.stringValue : text + "." + key.stringValue
            }
            return text.isEmpty ? "body" : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            return InvalidInput(field: path(context.codingPath, key), "is required")
        case .valueNotFound(let type, let context):
            return InvalidInput(field: path(context.codingPath), "must be a \(describe(type)), not null")
        case .typeMismatch(let type, let context):
            return InvalidInput(field: path(context.codingPath), "must be a \(describe(type))")
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return InvalidInput(field: "body", "is not valid JSON")
        case .dataCorrupted(let context):
            return InvalidInput(field: path(context.codingPath), "has an invalid value")
        @unknown default:
            return InvalidInput(field: "body", "cannot be read")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "string"
        case is Int.Type, is Int64.Type, is UInt8.Type: "integer"
        case is Bool.Type: "boolean"
        case is Double.Type: "number"
        default: String(describing: type).hasPrefix("Array") ? "array" : "object"
        }
    }
}

extension Request {
    /// A query parameter as a positive page number (default 1).
    /// The `page` parameter: 1 when absent, else an integer 1 ... `maximum` (past it, the
    /// problem says how to go `deeper`).
    func page(maximum: Int = 10_000, deeper: String? = nil) throws -> Int {
        guard let text = uri.queryParameters.get("page") else { return 1 }
        guard let page = Int(text), (1...maximum).contains(page) else {
            throw InvalidInput(field: "page", "must be an integer within 1...\(maximum)" + (deeper.map { "; to go further, \($0)" } ?? ""))
        }
        return page
    }
}

extension KeyedDecodingContainer {
    /// A field a request may leave out but, when present, never sets to null (a null is the
    /// type mismatch it is, with the field named); `decodeIfPresent` would take null as absent.
    func decodeUnlessAbsent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        contains(key) ? try decode(type, forKey: key) : nil
    }
}
