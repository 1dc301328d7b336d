import Foundation

/// Encodes `Encodable` values as JSON whose object keys come in the order they were
/// encoded: a type's declaration order, for synthesized `Codable`.
///
/// Foundation's `JSONEncoder` on Linux writes keys in an order that changes from one process
/// to the next (a hashed dictionary) unless told to sort them. A person reading a response,
/// or a script cutting a field out of it with `sed`, deserves the same order every time;
/// sorting alphabetically would put `amount` before `id`. Output otherwise follows
/// `JSONEncoder` with `.withoutEscapingSlashes` and ISO 8601 dates: optionals that are `nil`
/// are left out, `Data` is base64, `URL` its absolute string.
struct OrderedJSONEncoder: Sendable {
    func encode<T: Encodable>(_ value: T) throws -> Data {
        var output = [UInt8]()
        output.reserveCapacity(256)
        try OrderedJSONEncoder.value(of: value, at: nil).write(to: &output)
        return Data(output)
    }

    /// The JSON tree of `value`, with special cases for the Foundation types `JSONEncoder`
    /// treats as scalars.
    fileprivate static func value(of value: some Encodable, at path: CodingPath?) throws -> Node {
        switch value {
        case let date as Date: return .string(date.formatted(.iso8601))
        case let data as Data: return .string(data.base64EncodedString())
        case let url as URL: return .string(url.absoluteString)
        default:
            let encoder = TreeEncoder(path: path)
            try value.encode(to: encoder)
            return encoder.result ?? .object(ObjectNode())
        }
    }
}

// MARK: - The tree

/// A JSON value being built. Objects and arrays are references, so that a container handed
/// out earlier keeps writing into the tree.
fileprivate enum Node {
    case null
    case literal(String)  // true, false, a number
    case string(String)
    case array(ArrayNode)
    case object(ObjectNode)

    func write(to output: inout [UInt8]) throws {
        switch self {
        case .null: output.append(contentsOf: "null".utf8)
        case .literal(let text): output.append(contentsOf: text.utf8)
        case .string(let text): Node.writeString(text, to: &output)
        case .array(let array):
            output.append(UInt8(ascii: "["))
            for (index, item) in array.items.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                try item.write(to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            for (index, entry) in object.entries.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                Node.writeString(entry.key, to: &output)
                output.append(UInt8(ascii: ":"))
                try entry.value.write(to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string: quotes, backslashes and control characters escaped (RFC 8259 §7);
    /// everything else, `/` and non-ASCII included, as UTF-8.
    static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
            output.append(contentsOf: text.utf8)  // nothing to escape: most strings
            output.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)

fileprivate final class ArrayNode {
    var items: [Node] = []
}

fileprivate final class ObjectNode {
    private(set) var entries: [(key: String, value: Node)] = []

    /// Sets `key`, keeping its first position when it is set again. (A linear search: an
    /// object has a dozen keys, and hashing each cost more than the search.)
    subscript(key: String) -> Node? {
        get { entries.first { $0.key == key }?.value }
        set {
            guard let newValue else { return }
            if let position = entries.firstIndex(where: { $0.key == key }) {
                entries[position].value = newValue
            } else {
                entries.append((key, newValue))
            }
        }
    }
}

// MARK: - Encoder and containers

fileprivate final class TreeEncoder: Encoder {
    let path: CodingPath?
    var codingPath: [any CodingKey] { CodingPath.keys(path) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    /// What was encoded; `nil` until something was.
    var result: Node?

    init(path: CodingPath?) { self.path = path }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let object: ObjectNode
        if case .object(let existing)? = result { object = existing } else {
            object = ObjectNode()
            result = .object(object)
        }
        return KeyedEncodingContainer(KeyedContainer<Key>(object: object, path: path))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let array: ArrayNode
        if case .array(let existing)? = result { array = existing } else {
            array = ArrayNode()
            result = .array(array)
        }
        return UnkeyedContainer(array: array, path: path)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleValueContainer(encoder: self) }
}

/// Scalars every container encodes the same way.
fileprivate enum Scalar {
    static func number<T: BinaryFloatingPoint & LosslessStringConvertible>(_ value: T, at path: CodingPath?) throws -> Node {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: CodingPath.keys(path), debugDescription: "\(value) is not a JSON number"))
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return .literal(text)
    }

    static func integer(_ value: some BinaryInteger) -> Node { .literal(String(value)) }
}

fileprivate struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: ObjectNode
    let path: CodingPath?
    var codingPath: [any CodingKey] { CodingPath.keys(path) }

    private func path(_ key: some CodingKey) -> CodingPath { CodingPath(parent: path, key: key) }

    private func set(_ node: Node, _ key: Key) { object[key.stringValue] = node }

    mutating func encodeNil(forKey key: Key) throws { set(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.literal(value ? "true" : "false"), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { set(try Scalar.number(value, at: path(key)), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { set(try Scalar.number(value, at: path(key)), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(Scalar.integer(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(Scalar.integer(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(Scalar.integer(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(Scalar.integer(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(Scalar.integer(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(Scalar.integer(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(Scalar.integer(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(Scalar.integer(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(Scalar.integer(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(Scalar.integer(value), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(try OrderedJSONEncoder.value(of: value, at: path(key)), key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = ObjectNode()
        set(.object(nested), key)
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(object: nested, path: path(key)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = ArrayNode()
        set(.array(nested), key)
        return UnkeyedContainer(array: nested, path: path(key))
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: "super") }
    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key.stringValue) }

    private func superEncoder(named name: String) -> any Encoder {
        let key = AnyKey(name)
        let encoder = DeferredEncoder(path: path(key)) { [object] node in object[name] = node }
        return encoder
    }
}

fileprivate struct UnkeyedContainer: UnkeyedEncodingContainer {
    let array: ArrayNode
    let path: CodingPath?
    var codingPath: [any CodingKey] { CodingPath.keys(path) }
    var count: Int { array.items.count }

    private var nextPath: CodingPath { CodingPath(parent: path, key: AnyKey(index: array.items.count)) }

    mutating func encodeNil() throws { array.items.append(.null) }
    mutating func encode(_ value: Bool) throws { array.items.append(.literal(value ? "true" : "false")) }
    mutating func encode(_ value: String) throws { array.items.append(.string(value)) }
    mutating func encode(_ value: Double) throws { array.items.append(try Scalar.number(value, at: nextPath)) }
    mutating func encode(_ value: Float) throws { array.items.append(try Scalar.number(value, at: nextPath)) }
    mutating func encode(_ value: Int) throws { array.items.append(Scalar.integer(value)) }
    mutating func encode(_ value: Int8) throws { array.items.append(Scalar.integer(value)) }
    mutating func encode(_ value: Int16) throws { array.items.append(Scalar.integer(value)) }
    mutating func encode(_ value: Int32) throws { array.items.append(Scalar.integer(value)) }
    mutating func encode(_ value: Int64) throws { array.items.append(Scalar.integer(value)) }
    mutating func encode(_ value: UInt) throws { array.items.append(Scalar.integer(value)) }
    mutating func encode(_ value: UInt8) throws { array.items.append(Scalar.integer(value)) }
    mutating func encode(_ value: UInt16) throws { array.items.append(Scalar.integer(value)) }
    mutating func encode(_ value: UInt32) throws { array.items.append(Scalar.integer(value)) }
    mutating func encode(_ value: UInt64) throws { array.items.append(Scalar.integer(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        array.items.append(try OrderedJSONEncoder.value(of: value, at: nextPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = nextPath
        let nested = ObjectNode()
        array.items.append(.object(nested))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(object: nested, path: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath
        let nested = ArrayNode()
        array.items.append(.array(nested))
        return UnkeyedContainer(array: nested, path: path)
    }

    mutating func superEncoder() -> any Encoder {
        let position = array.items.count
        array.items.append(.null)
        return DeferredEncoder(path: nextPath) { [array] node in array.items[position] = node }
    }
}

fileprivate struct SingleValueContainer: SingleValueEncodingContainer {
    let encoder: TreeEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }
    private var path: CodingPath? { encoder.path }

    private func set(_ node: Node) { encoder.result = node }

    mutating func encodeNil() throws { set(.null) }
    mutating func encode(_ value: Bool) throws { set(.literal(value ? "true" : "false")) }
    mutating func encode(_ value: String) throws { set(.string(value)) }
    mutating func encode(_ value: Double) throws { set(try Scalar.number(value, at: path)) }
    mutating func encode(_ value: Float) throws { set(try Scalar.number(value, at: path)) }
    mutating func encode(_ value: Int) throws { set(Scalar.integer(value)) }
    mutating func encode(_ value: Int8) throws { set(Scalar.integer(value)) }
    mutating func encode(_ value: Int16) throws { set(Scalar.integer(value)) }
    mutating func encode(_ value: Int32) throws { set(Scalar.integer(value)) }
    mutating func encode(_ value: Int64) throws { set(Scalar.integer(value)) }
    mutating func encode(_ value: UInt) throws { set(Scalar.integer(value)) }
    mutating func encode(_ value: UInt8) throws { set(Scalar.integer(value)) }
    mutating func encode(_ value: UInt16) throws { set(Scalar.integer(value)) }
    mutating func encode(_ value: UInt32) throws { set(Scalar.integer(value)) }
    mutating func encode(_ value: UInt64) throws { set(Scalar.integer(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws { set(try OrderedJSONEncoder.value(of: value, at: path)) }
}

/// A super encoder: what it encodes is stored where it was asked for, once done.
fileprivate final class DeferredEncoder: Encoder {
    private let inner: TreeEncoder
    private let store: (Node) -> Void
    var codingPath: [any CodingKey] { inner.codingPath }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(path: CodingPath?, store: @escaping (Node) -> Void) {
        inner = TreeEncoder(path: path)
        self.store = store
    }

    deinit { store(inner.result ?? .object(ObjectNode())) }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> { inner.container(keyedBy: type) }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { inner.unkeyedContainer() }
    func singleValueContainer() -> any SingleValueEncodingContainer { inner.singleValueContainer() }
}

/// Where a value sits, as a chain to its parent: built for every value encoded, so it is
/// one small allocation, and the `[CodingKey]` array only when an error asks for it.
fileprivate final class CodingPath {
    let parent: CodingPath?
    let key: any CodingKey

    init(parent: CodingPath?, key: some CodingKey) {
        self.parent = parent
        self.key = key
    }

    static func keys(_ path: CodingPath?) -> [any CodingKey] {
        var keys: [any CodingKey] = []
        var node = path
        while let current = node {
            keys.append(current.key)
            node = current.parent
        }
        return keys.reversed()
    }
}

fileprivate struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(_ string: String) {
        stringValue = string
        intValue = nil
    }

    init(index: Int) {
        stringValue = "Index \(index)"
        intValue = index
    }

    init?(stringValue: String) { self.init(stringValue) }
    init?(intValue: Int) { self.init(index: intValue) }
}
