import Foundation

/// The text form in which stores keep an event's metadata: a JSON object of strings with
/// sorted keys, or `nil` when there is no metadata. Shared so that every store writes the
/// same bytes.
///
/// Written and read by hand: every event a subscription reads carries its metadata, and
/// Foundation's coders (a new decoder per event) cost 2.7% of the instructions of an order
/// placed in Mall (callgrind, `Benchmarks/instructions.sh`). The bytes
/// are the ones `JSONEncoder` with `.sortedKeys` writes (it escapes `/` too); a text this
/// reader does not expect (spaces, other value types, a malformed escape) goes to
/// `JSONDecoder`, which decodes it or names what is wrong.
public enum StoredMetadata {
    public static func encode(_ metadata: [String: String]) throws -> String? {
        guard !metadata.isEmpty else { return nil }
        var text = "{"
        for (index, key) in metadata.keys.sorted().enumerated() {
            if index > 0 { text += "," }
            appendQuoted(key, to: &text)
            text += ":"
            appendQuoted(metadata[key]!, to: &text)
        }
        return text + "}"
    }

    public static func decode(_ json: String?) throws -> [String: String] {
        guard let json else { return [:] }
        var utf8 = json.utf8[...]
        if let metadata = parseObject(&utf8), utf8.isEmpty { return metadata }
        return try JSONDecoder().decode([String: String].self, from: Data(json.utf8))
    }

    private static func appendQuoted(_ string: String, to text: inout String) {
        text += "\""
        // Most metadata (subscription names, attempts) needs no escape: copied whole.
        if !string.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "/") }) {
            text += string
            text += "\""
            return
        }
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "/": text += "\\/"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\u{08}": text += "\\b"
            case "\u{0C}": text += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }

    /// `{"key":"value",…}` without spaces; `nil` for anything else.
    private static func parseObject(_ input: inout Substring.UTF8View) -> [String: String]? {
        guard input.popFirst() == UInt8(ascii: "{") else { return nil }
        var metadata: [String: String] = [:]
        if input.first == UInt8(ascii: "}") {
            input.removeFirst()
            return metadata
        }
        while true {
            guard let key = parseString(&input), input.popFirst() == UInt8(ascii: ":"), let value = parseString(&input),
                  metadata.updateValue(value, forKey: key) == nil
            else { return nil }
            switch input.popFirst() {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "}"): return metadata
            default: return nil
            }
        }
    }

    /// A quoted string with JSON's escapes; `nil` for anything else.
    private static func parseString(_ input: inout Substring.UTF8View) -> String? {
        guard input.popFirst() == UInt8(ascii: "\"") else { return nil }
        // Without escapes or control characters the string is the slice up to the quote
        // (a slice of a String's UTF-8 between two ASCII bytes: valid UTF-8 as it is).
        if let end = input.firstIndex(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }),
           input[end] == UInt8(ascii: "\"") {
            let string = String(Substring(input[..<end]))
            input = input[input.index(after: end)...]
            return string
        }
        var bytes: [UInt8] = []
        while let byte = input.popFirst() {
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: bytes, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let escaped = input.popFirst() else { return nil }
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(escaped)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "u"):
                    guard let unit = parseHex(&input) else { return nil }
                    var scalarValue = UInt32(unit)
                    if (0xD800..<0xDC00).contains(unit) {  // a surrogate pair's high half
                        guard input.popFirst() == UInt8(ascii: "\\"), input.popFirst() == UInt8(ascii: "u"),
                              let low = parseHex(&input), (0xDC00..<0xE000).contains(low)
                        else { return nil }
                        scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(scalarValue) else { return nil }
                    bytes.append(contentsOf: String(scalar).utf8)
                default:
                    return nil
                }
            case 0..<0x20:
                return nil  // a raw control character: not JSON
            default:
                bytes.append(byte)
            }
        }
        return nil
    }

    private static func parseHex(_ input: inout Substring.UTF8View) -> UInt16? {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard let byte = input.popFirst() else { return nil }
            let digit: UInt16
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt16(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt16(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt16(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
            value = value << 4 | digit
        }
        return value
    }
}
