import Foundation
import Logging
import Synchronization

/// `mall serve`'s log lines on standard error: `2026-11-23T14:20:05Z info mall: [key=value] message`.
///
/// Metadata is formatted when a line is written, not when it is set: the HTTP server tags
/// every request's logger with its request id, and swift-log's `StreamLogHandler`
/// re-formats all metadata on every such change — 1.7% of the server's CPU under load in
/// `mall-bench`, for lines that are almost never written at the default level.
struct ServerLogHandler: LogHandler {
    private static let output = Mutex(())

    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let tags = all.isEmpty ? "" : "[" + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "] "
        let line = "\(Date.now.formatted(.iso8601)) \(event.level) \(label): \(tags)\(event.message)\n"
        Self.output.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }
}
