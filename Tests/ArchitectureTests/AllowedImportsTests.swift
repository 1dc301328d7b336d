import Foundation
import Testing

/// The allowed imports of `docs/ARCHITECTURE.md`, checked against every `import` in
/// `Sources/`: a forbidden import fails here, and so does a "to be removed" entry that is no
/// longer imported (the table stays true as the code improves).
@Suite struct AllowedImportsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func everyImportInSourcesIsOneTheArchitectureAllows() throws {
        let document = try String(contentsOf: Self.root.appendingPathComponent("docs/ARCHITECTURE.md"), encoding: .utf8)
        let rules = try ImportRules(markdown: document)
        let sources = try ModuleImports.read(sources: Self.root.appendingPathComponent("Sources"))
        let violations = rules.violations(sources)
        #expect(violations.isEmpty, Comment(rawValue: "\n" + violations.joined(separator: "\n")))
    }

    @Test func aForbiddenImportAStaleEntryAndAnUnlistedModuleAreEachReported() throws {
        let rules = try ImportRules(markdown: """
            <!-- allowed-imports:begin -->
            | Module | May import (this package) | Still imported, to be removed | Libraries |
            |---|---|---|---|
            | `Core` | | | Foundation |
            | `Shop` | Core | Legacy | Foundation |
            | `Web` | Shop | | Hummingbird |
            | `Legacy` | Core | | Foundation |
            <!-- allowed-imports:end -->
            """)
        let sources: [String: [ImportLine]] = [
            "Core": [ImportLine(module: "Foundation", spi: false, place: "Core/A.swift:1")],
            "Shop": [ImportLine(module: "Core", spi: false, place: "Shop/B.swift:1")],
            "Web": [
                ImportLine(module: "Core", spi: false, place: "Web/C.swift:2"),
                ImportLine(module: "Shop", spi: true, place: "Web/C.swift:3"),
                ImportLine(module: "GRDB", spi: false, place: "Web/C.swift:4"),
            ],
            "Legacy": [],
            "Extra": [],
        ]
        let violations = rules.violations(sources)
        #expect(violations.contains { $0.contains("Web/C.swift:2") && $0.contains("Core") }, "\(violations)")
        #expect(violations.contains { $0.contains("Web/C.swift:3") && $0.contains("@_spi") }, "\(violations)")
        #expect(violations.contains { $0.contains("Web/C.swift:4") && $0.contains("GRDB") }, "\(violations)")
        #expect(violations.contains { $0.contains("Shop") && $0.contains("Legacy") && $0.contains("no longer") }, "\(violations)")
        #expect(violations.contains { $0.contains("Extra") && $0.contains("not in the table") }, "\(violations)")
        #expect(violations.count == 5, "\(violations)")
    }
}

/// One `import` statement: the module, whether it opens an `@_spi` surface, and where it is.
struct ImportLine: Hashable {
    var module: String
    var spi: Bool
    var place: String
}

enum ModuleImports {
    /// The imports of each module under `sources` (each folder is a module).
    static func read(sources: URL) throws -> [String: [ImportLine]] {
        let manager = FileManager.default
        var modules: [String: [ImportLine]] = [:]
        for module in try manager.contentsOfDirectory(atPath: sources.path).sorted() {
            let folder = sources.appendingPathComponent(module)
            var isFolder: ObjCBool = false
            guard manager.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else { continue }
            var lines: [ImportLine] = []
            let files = manager.enumerator(atPath: folder.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
            for file in files.sorted() {
                let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    if let parsed = parse(String(line), place: "Sources/\(module)/\(file):\(number + 1)") { lines.append(parsed) }
                }
            }
            modules[module] = lines
        }
        return modules
    }

    /// `import X`, `@_spi(Y) import X`, `@testable import X`, `@preconcurrency import X`,
    /// `import struct X.Y` — the module `X`.
    static func parse(_ line: String, place: String) -> ImportLine? {
        var words = line.trimmingCharacters(in: .whitespaces).split(separator: " ").map(String.init)
        var spi = false
        while let first = words.first, first.hasPrefix("@") {
            if first.hasPrefix("@_spi(") { spi = true }
            words.removeFirst()
        }
        guard words.first == "import", words.count >= 2 else { return nil }
        let kinds: Set<String> = ["struct", "class", "enum", "protocol", "func", "var", "let", "typealias", "actor"]
        let path = kinds.contains(words[1]) && words.count >= 3 ? words[2] : words[1]
        guard let module = path.split(separator: ".").first else { return nil }
        return ImportLine(module: String(module), spi: spi, place: place)
    }
}

/// The table between `<!-- allowed-imports:begin -->` and `<!-- allowed-imports:end -->`.
struct ImportRules {
    struct Rule {
        var allowed: Set<String> = []
        var allowedWithSPI: Set<String> = []
        var anyModule = false
        var anySPI = false
        var toRemove: Set<String> = []
        var libraries: Set<String> = []
        var anyLibrary = false
    }

    struct Malformed: Error, CustomStringConvertible { var description: String }

    static let contexts = ["MallCatalog", "MallMembers", "MallPricing", "MallCart", "MallOrdering", "MallInventory", "MallPayment"]
    static let contextEvents = ["MallCatalogEvents", "MallMemberEvents", "MallPricingEvents", "MallInventoryEvents", "MallOrderingEvents", "MallPaymentEvents"]

    var rules: [String: Rule] = [:]

    init(markdown: String) throws {
        guard let begin = markdown.range(of: "<!-- allowed-imports:begin -->"), let end = markdown.range(of: "<!-- allowed-imports:end -->") else {
            throw Malformed(description: "no allowed-imports table")
        }
        for row in markdown[begin.upperBound..<end.lowerBound].split(separator: "\n") {
            let cells = row.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 6, cells[1].hasPrefix("`") else { continue }
            let module = cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            var rule = Rule()
            for entry in Self.entries(cells[2]) {
                switch entry {
                case "any": rule.anyModule = true
                case "any (SPI too)": rule.anyModule = true; rule.anySPI = true
                case "every context and its events": rule.allowed.formUnion(Self.contexts + Self.contextEvents)
                case let spi where spi.hasSuffix(" (SPI)"):
                    let name = String(spi.dropLast(" (SPI)".count))
                    rule.allowed.insert(name)
                    rule.allowedWithSPI.insert(name)
                default: rule.allowed.insert(entry)
                }
            }
            rule.toRemove = Set(Self.entries(cells[3]))
            let libraries = Self.entries(cells[4])
            rule.anyLibrary = libraries.contains("any")
            rule.libraries = Set(libraries)
            guard rules[module] == nil else { throw Malformed(description: "\(module) is in the table twice") }
            rules[module] = rule
        }
        guard !rules.isEmpty else { throw Malformed(description: "the allowed-imports table has no rows") }
    }

    private static func entries(_ cell: String) -> [String] {
        cell.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// What breaks the rules in `sources` (each module's imports), one line each.
    func violations(_ sources: [String: [ImportLine]]) -> [String] {
        var found: [String] = []
        let modules = Set(sources.keys)
        for module in modules.sorted() where rules[module] == nil {
            found.append("\(module) is not in the table of docs/ARCHITECTURE.md: add its row (what it may import)")
        }
        for module in rules.keys.sorted() where !modules.contains(module) {
            found.append("\(module) is in the table of docs/ARCHITECTURE.md but not in Sources/: remove its row")
        }
        for module in modules.sorted() {
            guard let rule = rules[module], let imports = sources[module] else { continue }
            for line in imports where line.module != module {
                if modules.contains(line.module) {
                    let allowed = rule.anyModule || rule.allowed.contains(line.module) || rule.toRemove.contains(line.module)
                    if !allowed {
                        found.append("\(line.place): \(module) may not import \(line.module) (docs/ARCHITECTURE.md, allowed imports)")
                    } else if line.spi, !rule.anySPI, !rule.allowedWithSPI.contains(line.module) {
                        found.append("\(line.place): \(module) may not open \(line.module)'s @_spi surface (docs/ARCHITECTURE.md)")
                    }
                } else if !rule.anyLibrary, !rule.libraries.contains(line.module) {
                    found.append("\(line.place): \(module) may not use the library \(line.module) (docs/ARCHITECTURE.md, last column)")
                }
            }
            let imported = Set(imports.map(\.module))
            for stale in rule.toRemove.sorted() where !imported.contains(stale) {
                found.append("\(module) no longer imports \(stale): take it out of \"Still imported, to be removed\" in docs/ARCHITECTURE.md")
            }
        }
        return found
    }
}
