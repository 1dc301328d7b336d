import Foundation
import Logging
import MallApplication
import Synchronization
import Tracing

/// `mall serve`'s log lines on standard output, one event per line, as text or JSON.
///
/// Text: `2026-11-23T14:20:05Z info mall: [key=value] message`. JSON: one object per line,
/// `{"time":…,"level":…,"label":…,"message":…,"metadata":{…}}`.
///
/// Messages and metadata often carry what a client sent (an e-mail address, a SKU, an
/// error naming a field's value). In text every control character is escaped (`\n`, `\r`,
/// `\u{1B}`…), so no input can start a line of its own or rewrite the terminal; JSON
/// escapes it by construction.
///
/// Metadata is formatted when a line is written, not when it is set: the HTTP server tags
/// every request's logger with its request id, and swift-log's `StreamLogHandler`
/// re-formats all metadata on every such change — 1.7% of the server's CPU under load in
/// `mall-bench`, for lines that are almost never written at the default level.
public struct ServerLogHandler: LogHandler {
    private static let output = Mutex(())

    public let label: String
    public let format: MallConfiguration.LogFormat
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    /// Metadata read from the task when a line is written (``correlation``).
    public var metadataProvider: Logger.MetadataProvider?

    public init(label: String, format: MallConfiguration.LogFormat, level: Logger.Level = .info, metadataProvider: Logger.MetadataProvider? = .correlation) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let line = switch format {
        case .text: Self.textLine(time: Date.now, level: event.level, label: label, message: "\(event.message)", metadata: all)
        case .json: Self.jsonLine(time: Date.now, level: event.level, label: label, message: "\(event.message)", metadata: all)
        }
        Self.output.withLock { _ in FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
    }

    static func textLine(time: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        let tags = metadata.isEmpty ? "" : "[" + metadata.sorted { $0.key < $1.key }.map { "\(escaped($0.key))=\(escaped("\($0.value)"))" }.joined(separator: " ") + "] "
        return "\(time.formatted(.iso8601)) \(level) \(label): \(tags)\(escaped(message))"
    }

    static func jsonLine(time: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        var object: [(String, Any)] = [("time", time.formatted(.iso8601)), ("level", "\(level)"), ("label", label), ("message", message)]
        if !metadata.isEmpty {
            object.append(("metadata", metadata.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") }))
        }
        return jsonObject(object)
    }

    /// The text with backslashes and every control character (C0, DEL, C1, and the Unicode
    /// line and paragraph separators) written as escapes.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where needsEscape(scalar): result += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\\" || scalar == "\u{2028}" || scalar == "\u{2029}"
    }

    private static func jsonObject(_ entries: [(String, Any)]) -> String {
        "{" + entries.map { key, value in
            let rendered = switch value {
            case let nested as [(String, String)]: jsonObject(nested.map { ($0.0, $0.1 as Any) })
            default: jsonString("\(value)")
            }
            return jsonString(key) + ":" + rendered
        }.joined(separator: ",") + "}"
    }

    private static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20 || scalar == "\u{2028}" || scalar == "\u{2029}":
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

extension Logger.MetadataProvider {
    /// What a line written while handling a request or an event belongs to, from the task:
    /// `request_id` (within a request), `correlation_id` (the request that started the
    /// chain), `causation_id` (the event being handled) and `trace_id` (the W3C trace).
    public static let correlation = Logger.MetadataProvider {
        var metadata: Logger.Metadata = [:]
        if let request = RequestTracingMiddleware.requestID { metadata["request_id"] = .string(request.uuidString) }
        if let correlation = WorkCause.correlationID { metadata["correlation_id"] = .string(correlation.uuidString) }
        if let causation = WorkCause.causationID { metadata["causation_id"] = .string(causation.uuidString) }
        if let trace = ServiceContext.current?.traceContext ?? WorkCause.traceparent.flatMap(TraceContext.init(traceparent:)) {
            metadata["trace_id"] = .string(trace.traceID)
        }
        return metadata
    }
}
