import Foundation

/// An error a caller caused and can act on: what kind of problem, which field, what to do.
///
/// Every context's domain errors conform, so the HTTP layer turns them into
/// problem+json in one place, and the CLI prints ``detail``. Errors that do not conform are
/// the server's own failures (storage down, bugs) and are never shown in detail to clients.
public protocol MallProblem: Error, CustomStringConvertible {
    var kind: ProblemKind { get }
    /// The request field at fault (e.g. `"lines[2].quantity"`), when there is one.
    var field: String? { get }
}

extension MallProblem {
    public var field: String? { nil }
}

public enum ProblemKind: Sendable, Hashable {
    /// Malformed or out-of-range input (400).
    case invalidInput
    /// Not found, or not the caller's (404).
    case notFound
    /// The state changed meanwhile, or the request clashes with it (409).
    case conflict
    /// Well-formed but against a business rule (422).
    case ruleViolation
    /// Credentials missing or wrong (401).
    case unauthenticated
    /// Too many callers for a limited resource right now; retry after a pause (503 with
    /// `Retry-After`).
    case overloaded
    /// One caller asked for more than a configured limit allows (409): e.g. too many
    /// unpaid orders at once.
    case limitReached
}

/// A bounded resource (a worker pool, a queue) is full: the request was refused before any
/// work, and may be retried shortly.
public struct Overloaded: MallProblem, Hashable, Sendable {
    /// What is full, e.g. `"password hashing"`.
    public var resource: String

    public init(resource: String) { self.resource = resource }

    public var kind: ProblemKind { .overloaded }
    public var description: String { "\(resource) is busy; retry shortly" }
}

/// A validation failure naming its field.
public struct InvalidInput: MallProblem, Hashable, Sendable {
    public var field: String?
    public var reason: String

    public init(field: String, _ reason: String) {
        self.field = field
        self.reason = reason
    }

    public var kind: ProblemKind { .invalidInput }
    public var description: String { "\(field ?? "request"): \(reason)" }
}

extension String {
    /// Checks a free-text field's length after trimming, and that it holds no control
    /// characters (line breaks, escapes: nothing a name or an address needs, and what would
    /// let input forge log lines or terminal output); returns the trimmed text.
    public func validated(field: String, maxLength: Int, allowEmpty: Bool = false) throws -> String {
        let trimmed = trimmingCharacters(in: .whitespacesAndNewlines)
        guard allowEmpty || !trimmed.isEmpty else { throw InvalidInput(field: field, "must not be empty") }
        guard trimmed.count <= maxLength else { throw InvalidInput(field: field, "at most \(maxLength) characters") }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == "\u{2028}" || $0 == "\u{2029}" }) else {
            throw InvalidInput(field: field, "must not contain control characters or line breaks")
        }
        return trimmed
    }
}
