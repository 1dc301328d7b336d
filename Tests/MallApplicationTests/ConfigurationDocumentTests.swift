import Foundation
import MallApplication
import Testing

/// `docs/CONFIGURATION.md` and the variables the configuration reads cannot drift apart.
@Suite struct ConfigurationDocumentTests {
    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/CONFIGURATION.md")

    @Test func everyVariableTheConfigurationReadsIsDocumentedAndNoOther() throws {
        let text = try String(contentsOf: Self.document, encoding: .utf8)
        let documented = Set(text.matches(of: /`(MALL_[A-Z0-9_]+)`/).map { String($0.1) })
        let read = Set(MallConfiguration.environmentVariables)
        #expect(read.count > 50, "the configuration reads its variables through one place: \(read.sorted())")
        #expect(read.subtracting(documented).isEmpty, "read but not in docs/CONFIGURATION.md: \(read.subtracting(documented).sorted())")
        #expect(documented.subtracting(read).isEmpty, "in docs/CONFIGURATION.md but never read: \(documented.subtracting(read).sorted())")
    }
}
