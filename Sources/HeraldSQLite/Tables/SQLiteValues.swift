import Foundation
import GRDB

/// How Herald's values are stored in SQLite columns.
enum SQLiteValues {
    /// Dates are integer microseconds since 1970: exact and ordered.
    static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    static func date(_ micros: Int64) -> Date {
        Date(timeIntervalSince1970: TimeInterval(micros) / 1_000_000)
    }

    static func metadataJSON(_ metadata: [String: String]) throws -> String? {
        guard !metadata.isEmpty else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(metadata), as: UTF8.self)
    }

    static func metadata(_ json: String?) throws -> [String: String] {
        guard let json else { return [:] }
        return try JSONDecoder().decode([String: String].self, from: Data(json.utf8))
    }
}
