import Foundation

/// The OpenAPI 3.1 description of every route, served at `/openapi.yaml`: the resource
/// `Resources/openapi.yaml`, the API's contract, written spec-first and edited as YAML.
///
/// `OpenAPIRoutesTests` proves each route of ``MallServer/router()`` is in it with its
/// method (and nothing else is) and that every reference resolves; `APIContractTests`
/// checks responses in process; `scripts/schemathesis.sh` checks a live server against it.
public enum OpenAPIDocument {
    public static let yaml: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
              let text = try? String(contentsOf: url, encoding: .utf8)
        else { preconditionFailure("MallHTTP's resource bundle has no openapi.yaml: the build is incomplete") }
        return text
    }()
}
