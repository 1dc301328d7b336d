import Foundation
import Herald
import Testing

/// Event metadata is written and read by hand: the bytes and the values must be the ones
/// Foundation's coders give, whatever the strings hold.
@Suite struct StoredMetadataTests {
    static let tricky: [[String: String]] = [
        ["herald.attempt": "1", "herald.subscription": "ordering.process"],
        ["": "", "a": ""],
        ["quote\"": "back\\slash", "slash/": "</script>"],
        ["controls": String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }) + "\u{7F}"],
        ["crème": "brûlée", "emoji": "😀 and 🇬🇧", "cjk": "注文", "separator": "\u{2028}"],
    ]

    static func foundation(_ metadata: [String: String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(metadata), as: UTF8.self)
    }

    @Test(arguments: tricky)
    func metadataIsWrittenAsFoundationWritesItAndReadBack(_ metadata: [String: String]) throws {
        let written = try #require(try StoredMetadata.encode(metadata))
        #expect(written == (try Self.foundation(metadata)))
        #expect(try StoredMetadata.decode(written) == metadata)
        #expect(try JSONDecoder().decode([String: String].self, from: Data(written.utf8)) == metadata)
    }

    @Test func noMetadataIsNoText() throws {
        #expect(try StoredMetadata.encode([:]) == nil)
        #expect(try StoredMetadata.decode(nil) == [:])
        #expect(try StoredMetadata.decode("{}") == [:])
    }

    @Test func textsWrittenOtherwiseReadAsFoundationReadsThem() throws {
        for text in [#"{ "a" : "b" }"#, #"{"e":"\ud83d\ude00","u":"\u00e9\u00E9"}"#, #"{"a":"1","a":"2"}"#, #"{"n":"\n\t\b\f\r\/"}"#] {
            #expect(try StoredMetadata.decode(text) == JSONDecoder().decode([String: String].self, from: Data(text.utf8)), "\(text)")
        }
    }

    @Test func malformedMetadataIsAnError() {
        for text in [#"{"a":1}"#, #"{"a":"b""#, #"["a"]"#, #"{"a":"\ud83d"}"#, #"{"a":"\x"}"#, ""] {
            #expect(throws: (any Error).self, "\(text)") { try StoredMetadata.decode(text) }
        }
    }
}
