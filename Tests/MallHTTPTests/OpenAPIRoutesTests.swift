import Herald
import HeraldTesting
import Logging
@_spi(Operations) import MallApplication
import MallOperations
import MallHTTP
import Testing

/// The served OpenAPI document and the router describe the same API.
@Suite struct OpenAPIRoutesTests {
    /// `METHOD /path` for every operation under `paths:` in the document.
    static func documentedOperations() -> Set<String> {
        var operations = Set<String>()
        var inPaths = false
        var path: String?
        for line in OpenAPIDocument.yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let method = line.trimmingCharacters(in: .whitespaces).dropLast().uppercased()
                if ["GET", "POST", "PUT", "DELETE", "PATCH"].contains(method) { operations.insert("\(method) \(path)") }
            }
        }
        return operations
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedOperationIsARoute() throws {
        let engine = HeraldEngine(store: InMemoryEventStore(), registry: .mall)
        let server = try MallServer(mall: Mall(engine: engine, configuration: MallConfiguration()), logger: Logger(label: "test"))
        // The console's HTML pages are for people, not part of the API the document describes.
        let routes = Set(server.router().routes.map { "\($0.method.rawValue) \($0.path.description)" }.filter { !$0.contains(" /console") })
        let documented = Self.documentedOperations()
        #expect(routes.count >= 30)
        #expect(routes.subtracting(documented).sorted() == [], "routes missing from /openapi.yaml")
        #expect(documented.subtracting(routes).sorted() == [], "documented operations with no route")
    }

    /// Every `$ref` names a component the document defines, and every component is used.
    @Test func everyReferenceResolvesAndEveryComponentIsUsed() throws {
        let yaml = OpenAPIDocument.yaml
        let referenced = Set(yaml.matches(of: /\$ref: '#\/components\/(\w+)\/(\w+)'/).map { "\($0.1)/\($0.2)" })
        var defined = Set<String>()
        var section: String?
        var inComponents = false
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "components:" { inComponents = true; continue }
            guard inComponents else { continue }
            if !line.hasPrefix(" "), !line.isEmpty { inComponents = false; continue }
            if line.hasPrefix("  "), !line.hasPrefix("   "), line.hasSuffix(":") { section = String(line.dropFirst(2).dropLast()) }
            if let section, line.hasPrefix("    "), !line.hasPrefix("     "), let name = line.split(separator: ":").first {
                defined.insert("\(section)/\(name.trimmingCharacters(in: .whitespaces))")
            }
        }
        #expect(!referenced.isEmpty && !defined.isEmpty)
        #expect(referenced.subtracting(defined).sorted() == [], "references to undefined components")
        #expect(defined.subtracting(referenced).filter { !$0.hasPrefix("securitySchemes/") }.sorted() == [], "components never referenced")
    }
}
