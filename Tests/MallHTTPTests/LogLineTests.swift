import Foundation
import Logging
@testable import MallHTTP
import Testing

/// Text that came from a client cannot forge a log line or rewrite a terminal.
@Suite struct LogLineTests {
    let time = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func controlCharactersInMessagesAndMetadataAreEscapedInText() {
        let forged = "no such member a@b.co\n2027-01-15T08:00:00Z info mall: admin logged in\r\u{1B}[2K"
        let line = ServerLogHandler.textLine(
            time: time, level: .warning, label: "mall", message: "log-in failed for \(forged)", metadata: ["email": "\(forged)"])
        #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{1B}"), "one line, no escape sequences: \(line)")
        #expect(line.contains(#"a@b.co\n2027-01-15T08:00:00Z info mall: admin logged in\r\u{1b}[2K"#))
        #expect(line.hasPrefix("2027-01-15T08:00:00Z warning mall: [email="))
        #expect(ServerLogHandler.escaped("C:\\path\u{2028}x") == #"C:\\path\u{2028}x"#, "backslashes and Unicode line separators too")
    }

    @Test func jsonLinesAreOneValidObjectEach() throws {
        let line = ServerLogHandler.jsonLine(
            time: time, level: .info, label: "mall", message: "quote \" and\nnewline", metadata: ["request": "r-1", "sku": "tea\u{0}"])
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["message"] as? String == "quote \" and\nnewline")
        #expect(object["level"] as? String == "info")
        #expect((object["metadata"] as? [String: String])?["sku"] == "tea\u{0}")
        #expect(line.hasPrefix(#"{"time":"2027-01-15T08:00:00Z","level":"info","label":"mall","message":"#), "fields in a fixed order")
    }
}
