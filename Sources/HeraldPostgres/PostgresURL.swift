import Foundation
import Herald
import PostgresNIO

extension PostgresEventStore {
    /// A client configuration from a `postgres://user:password@host:port/database` URL.
    ///
    /// `sslmode` may be `disable` (the default), `prefer` or `require`. Other query
    /// parameters are refused, so that a typo does not silently change behaviour.
    ///
    /// - Throws: ``ConfigurationError`` naming what is wrong with the URL.
    public static func configuration(url: String) throws -> PostgresClient.Configuration {
        func invalid(_ allowed: String) -> ConfigurationError {
            ConfigurationError(setting: "database URL", value: redacted(url), allowed: allowed)
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme,
            ["postgres", "postgresql"].contains(scheme)
        else { throw invalid("postgres://user[:password]@host[:port]/database") }
        guard let host = components.host, !host.isEmpty else { throw invalid("a host, e.g. postgres://user@127.0.0.1/db") }
        guard let user = components.user, !user.isEmpty else { throw invalid("a user name, e.g. postgres://user@host/db") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        var tls = PostgresClient.Configuration.TLS.disable
        for item in components.queryItems ?? [] {
            switch (item.name, item.value) {
            case ("sslmode", "disable"): tls = .disable
            case ("sslmode", "prefer"): tls = .prefer(.makeClientConfiguration())
            case ("sslmode", "require"): tls = .require(.makeClientConfiguration())
            default: throw invalid("only the query parameter sslmode=disable|prefer|require")
            }
        }
        return PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user.removingPercentEncoding ?? user,
            password: components.password?.removingPercentEncoding, database: database.isEmpty ? nil : database, tls: tls)
    }

    /// The URL with its password replaced, for error messages and logs.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "xxxxx"
        return components.string ?? "postgres://…"
    }
}
