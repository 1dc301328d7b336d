import Foundation

/// The one JSON format Herald stores payloads and aggregate documents in.
///
/// Dates are encoded as milliseconds since 1970 so that other languages can read the log.
/// Keys are not sorted (on Linux their order then varies from one process to the next):
/// nothing compares stored documents byte for byte, and sorting cost about 8% of a
/// unit-of-work commit (herald-bench, `uow_commits_per_s`).
enum HeraldJSON {
    // Configured once and shared: creating a coder per call was a measurable part of a
    // unit-of-work commit. Foundation's coders are safe to use from several threads.
    private static let sharedEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }()

    private static let sharedDecoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()

    static func encode<T: Encodable>(_ value: T) throws -> Data {
        try sharedEncoder.encode(value)
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try sharedDecoder.decode(type, from: data)
    }
}
