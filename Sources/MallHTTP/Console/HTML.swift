import Foundation

/// A piece of HTML whose interpolations are escaped unless they are HTML themselves: a
/// value from the store or the request can never become markup.
///
/// ```swift
/// let row: HTML = "<td>\(letter.lastError ?? "")</td>"   // escaped
/// let page: HTML = "<main>\(row)</main>"                  // kept as markup
/// ```
struct HTML: ExpressibleByStringInterpolation, Sendable {
    var text: String

    init(stringLiteral value: String) { text = value }
    init(stringInterpolation: StringInterpolation) { text = stringInterpolation.text }
    init(unescaped text: String) { self.text = text }

    struct StringInterpolation: StringInterpolationProtocol {
        var text = ""

        init(literalCapacity: Int, interpolationCount: Int) { text.reserveCapacity(literalCapacity + interpolationCount * 16) }
        mutating func appendLiteral(_ literal: String) { text += literal }
        mutating func appendInterpolation(_ html: HTML) { text += html.text }
        mutating func appendInterpolation(_ pieces: [HTML]) { for piece in pieces { text += piece.text } }
        mutating func appendInterpolation(_ value: some CustomStringConvertible) { text += HTML.escape(value.description) }
        mutating func appendInterpolation(_ date: Date) { text += HTML.escape(date.formatted(.iso8601)) }
    }

    /// `text` with `& < > " '` as character references.
    ///
    /// Walks the UTF-8 bytes, as the browser's tokenizer sees them, not Swift `Character`s:
    /// a `"` followed by a combining mark (U+0301) is one `Character`, unequal to `"`, yet
    /// the browser still reads a `"` that ends the attribute. Every byte of these five is
    /// ASCII and never part of another character's UTF-8, so byte by byte is exact.
    static func escape(_ text: String) -> String {
        var escaped: [UInt8] = []
        escaped.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "&"): escaped += "&amp;".utf8
            case UInt8(ascii: "<"): escaped += "&lt;".utf8
            case UInt8(ascii: ">"): escaped += "&gt;".utf8
            case UInt8(ascii: "\""): escaped += "&quot;".utf8
            case UInt8(ascii: "'"): escaped += "&#39;".utf8
            default: escaped.append(byte)
            }
        }
        return String(decoding: escaped, as: UTF8.self)
    }
}
