import Foundation

/// The text form in which stores keep an event's metadata: a JSON object with sorted keys,
/// or `nil` when there is no metadata. Shared so that every store writes the same bytes.
public enum StoredMetadata {
    public static func encode(_ metadata: [String: String]) throws -> String? {
        guard !metadata.isEmpty else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(metadata), as: UTF8.self)
    }

    public static func decode(_ json: String?) throws -> [String: String] {
        guard let json else { return [:] }
        return try JSONDecoder().decode([String: String].self, from: Data(json.utf8))
    }
}
